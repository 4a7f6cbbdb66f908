"""Tables of the downloads domain.

Revision ID: 0002_downloads
Revises: '0001_index'
"""

from __future__ import annotations

revision = "0002_downloads"
down_revision = "0001_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
