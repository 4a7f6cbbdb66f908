"""SQLite substring search: how often each trigram occurs, per generation.

The FTS5 trigram table ANDs every trigram of a query, and the common ones (those of "-core",
"-lite", "-ng": each in a quarter of the x4 listing's keys) cost far more to intersect than
they narrow: "n-core-ng" took 26 ms with all seven and 5 ms with its two rarer ones. FTS5 can
count a term's rows only by reading them (40-50 ms for a common one), so each load samples them
here instead, as ``ix_trgm_counts`` does on PostgreSQL since 0006 (every 50th row; see
``pkgdex.index.search``). PostgreSQL: no change.

Revision ID: 0008_index_sqlite_gram_counts
Revises: 0007_index_id_ranges
"""

from __future__ import annotations

from alembic import op

revision = "0008_index_sqlite_gram_counts"
down_revision = "0007_index_id_ranges"
branch_labels = None
depends_on = None

# The serving generations' counts (later loads write their own), as
# ``pkgdex.index.search.sqlite_count_grams`` takes them (there in Python, as loads are timed).
COUNT_SERVING_GRAMS = (
    "WITH RECURSIVE at(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM at WHERE i < 600) "
    "INSERT INTO ix_trgm_counts (ecosystem, gen, gram, n) "
    "SELECT e.ecosystem, e.gen, substr(e.key, at.i, 3) AS gram, count(*) FROM index_entries e "
    "JOIN index_state s ON s.ecosystem = e.ecosystem AND s.gen = e.gen "
    "JOIN at ON at.i <= length(e.key) - 2 "
    "WHERE e.id % 50 = 0 GROUP BY e.ecosystem, e.gen, gram"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE ix_trgm_counts (ecosystem VARCHAR(16) NOT NULL, gen INTEGER NOT NULL, "
        "gram TEXT NOT NULL, n INTEGER NOT NULL, "
        "CONSTRAINT ix_trgm_counts_pkey PRIMARY KEY (ecosystem, gen, gram))"
    )
    op.execute(COUNT_SERVING_GRAMS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TABLE ix_trgm_counts")
