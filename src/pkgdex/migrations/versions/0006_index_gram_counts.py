"""PostgreSQL substring search: how often each short substring occurs, per generation.

``ix_trgm_counts`` holds, for every 50th row of a generation, how often each 2- and
3-character substring occurs from a key's second character on (bigrams of the key, trigrams of
its ``index_key_word``, as the GIN indexes see them). A search takes the count of
its query's rarest gram as an estimate of its candidates before choosing a path
(``pkgdex.index.search``); each load writes its generation's counts. SQLite: no change.

Revision ID: 0006_index_gram_counts
Revises: 0005_index_search_buckets
"""

from __future__ import annotations

from alembic import op

revision = "0006_index_gram_counts"
down_revision = "0005_index_search_buckets"
branch_labels = None
depends_on = None

# The serving generations' counts (later loads write their own); every 50th row, as
# ``pkgdex.index.search.PG_SAMPLE``.
COUNT_SERVING_GRAMS = (
    "INSERT INTO ix_trgm_counts (ecosystem, gen, gram, n) "
    "SELECT e.ecosystem, e.gen, g.gram, count(*) FROM index_entries e "
    "JOIN index_state s ON s.ecosystem = e.ecosystem AND s.gen = e.gen "
    "CROSS JOIN LATERAL (SELECT index_key_word(e.key) AS word) k "
    "CROSS JOIN generate_series(2, 3) AS w(w) "
    "CROSS JOIN generate_series(2, length(e.key) - w + 1) AS i(i) "
    "CROSS JOIN LATERAL (SELECT substr(CASE w WHEN 3 THEN k.word ELSE e.key END, i, w) AS gram) g "
    "WHERE e.id % 50 = 0 GROUP BY e.ecosystem, e.gen, g.gram"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute(
        "CREATE TABLE ix_trgm_counts (ecosystem VARCHAR(16) NOT NULL, gen INTEGER NOT NULL, "
        "gram TEXT NOT NULL, n INTEGER NOT NULL, "
        "CONSTRAINT ix_trgm_counts_pkey PRIMARY KEY (ecosystem, gen, gram))"
    )
    op.execute(COUNT_SERVING_GRAMS)
    op.execute("ANALYZE ix_trgm_counts")  # or its lookups filter instead of seeking


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP TABLE ix_trgm_counts")
