"""PyPI files: a partial index of the files whose core metadata is unknown, by project.

Whether a project has such files is asked before its Simple page is made (``coremetadata``):
through the project's index it read every file of a project (0.2 ms for 1,000 files, on
every page made of a project whose files are all known); this index holds only the unknown
ones, so the answer is one lookup either way.

Revision ID: 0011_metadata_unknown_index
Revises: 0010_metadata_described_version
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_metadata_unknown_index"
down_revision = "0010_metadata_described_version"
branch_labels = None
depends_on = None

UNKNOWN = sa.text("core_metadata IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_metadata_files_unknown_core_metadata",
        "metadata_files",
        ["project_id"],
        sqlite_where=UNKNOWN,
        postgresql_where=UNKNOWN,
    )


def downgrade() -> None:
    op.drop_index("ix_metadata_files_unknown_core_metadata", table_name="metadata_files")
