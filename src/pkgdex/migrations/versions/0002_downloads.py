"""Tables of the downloads domain.

Revision ID: 0002_downloads
Revises: 0001_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_downloads"
down_revision = "0001_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "downloads_daily",
        sa.Column("package", sa.String(200), nullable=False),
        sa.Column("breakdown", sa.String(16), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("category", sa.String(128), nullable=False),
        sa.Column("ci", sa.Boolean(), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "package", "breakdown", "date", "category", "ci", name="pk_downloads_daily"
        ),
    )
    op.create_index("ix_downloads_daily_date", "downloads_daily", ["date"])
    op.create_table(
        "downloads_recent",
        sa.Column("package", sa.String(200), nullable=False),
        sa.Column("ci", sa.Boolean(), nullable=False),
        sa.Column("last_day", sa.BigInteger(), nullable=False),
        sa.Column("last_week", sa.BigInteger(), nullable=False),
        sa.Column("last_month", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("package", "ci", name="pk_downloads_recent"),
    )
    op.create_table(
        "downloads_ledger",
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("rows_read", sa.BigInteger(), nullable=False),
        sa.Column("rows_rejected", sa.BigInteger(), nullable=False),
        sa.Column("rejected_reasons", sa.Text(), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingest_seconds", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("date", name="pk_downloads_ledger"),
    )


def downgrade() -> None:
    op.drop_table("downloads_ledger")
    op.drop_table("downloads_recent")
    op.drop_index("ix_downloads_daily_date", table_name="downloads_daily")
    op.drop_table("downloads_daily")
