"""Tables of the npmregistry domain.

Revision ID: 0004_npmregistry
Revises: 0003_metadata
"""

from __future__ import annotations

revision = "0004_npmregistry"
down_revision = "0003_metadata"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
