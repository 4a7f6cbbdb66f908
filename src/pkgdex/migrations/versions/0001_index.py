"""Tables of the index domain.

Revision ID: 0001_index
Revises: None
"""

from __future__ import annotations

revision = "0001_index"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
