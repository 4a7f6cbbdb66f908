"""PostgreSQL substring search: a BRIN index over ``index_entries.id``.

When the first matches of a substring are known to lie at ids up to some bound, the search
asks for the GIN candidates in that id range. A btree range over millions of ids costs more
than the candidates it spares, but a BRIN index (the least and greatest id of every 16 heap
pages, about 200 kB for 4.5 M rows) turns the range into a page bitmap in a few milliseconds
that PostgreSQL ANDs with the GIN bitmap before reading any row: "o-addon", 24 K matches in
one id range, rechecked 900 candidates instead of all of them (``pkgdex.index.search``).
Named like the other search structures the models leave out (``ix_trgm_``). SQLite: no change.

Revision ID: 0007_index_id_ranges
Revises: 0006_index_gram_counts
"""

from __future__ import annotations

from alembic import op

revision = "0007_index_id_ranges"
down_revision = "0006_index_gram_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(
        "CREATE INDEX ix_trgm_brin_index_entries_id ON index_entries "
        "USING brin (id) WITH (pages_per_range = 16)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP INDEX ix_trgm_brin_index_entries_id")
