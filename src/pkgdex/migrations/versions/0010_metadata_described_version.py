"""PyPI projects: ``described_version``, the release the upstream's project document described.

Of two spellings of one version ("3.0" and "3.0.0", equal in PEP 440) pypi.org describes one.
Once both have their own info (the other's release page was asked for too), only this column
says which. Rows stored before have none until their next refresh, and choose as before.

Revision ID: 0010_metadata_described_version
Revises: 0009_npm_digest_xxh3
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_metadata_described_version"
down_revision = "0009_npm_digest_xxh3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("metadata_projects") as batch:
        batch.add_column(
            sa.Column(
                "described_version",
                sa.String(255),
                nullable=True,
                comment="the release the upstream's project document described",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("metadata_projects") as batch:
        batch.drop_column("described_version")
