"""Tables of the npmregistry domain.

Revision ID: 0004_npmregistry
Revises: 0003_metadata
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_npmregistry"
down_revision = "0003_metadata"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Small columns first, documents last (see pkgdex.npmregistry.models).
    op.create_table(
        "npm_packuments",
        sa.Column("name", sa.String(214), nullable=False),
        sa.Column(
            "status",
            sa.SmallInteger(),
            nullable=False,
            comment="200 stored, 404 upstream said absent",
        ),
        sa.Column(
            "fetched_at",
            sa.Float(),
            nullable=False,
            comment="unix seconds of the last upstream answer",
        ),
        sa.Column("digest", sa.String(64), nullable=True, comment="sha256 of doc: the ETag"),
        sa.Column("latest", sa.String(256), nullable=True),
        sa.Column(
            "modified", sa.String(64), nullable=True, comment="time.modified of the packument"
        ),
        sa.Column("upstream_etag", sa.String(512), nullable=True, comment="to revalidate upstream"),
        sa.Column(
            "card", sa.LargeBinary(), nullable=True, comment="what npm search shows of it, JSON"
        ),
        sa.Column(
            "abbreviated",
            sa.LargeBinary(),
            nullable=True,
            comment="install-v1 (corgi) form, JSON",
        ),
        sa.Column("doc", sa.LargeBinary(), nullable=True, comment="full packument, JSON"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_npm_packuments")),
    )


def downgrade() -> None:
    op.drop_table("npm_packuments")
