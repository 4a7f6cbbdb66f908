"""Tables of the metadata domain.

Revision ID: 0003_metadata
Revises: '0002_downloads'
"""

from __future__ import annotations

revision = "0003_metadata"
down_revision = "0002_downloads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
