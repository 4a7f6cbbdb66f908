"""PostgreSQL substring search: one pg_trgm word per key, and GIN indexes led by id bucket.

pg_trgm splits text into words at punctuation and pads each word, so a query like "est-lit"
asked for trigrams such as " li" whose posting lists hold much of the index. The trigram index
now covers ``index_key_word(key)``, the key with each of the separators ``-._/@`` replaced
by "7" (the rarest character in names): one word per key. Both GIN indexes (trigrams, and
bigrams for 2-character queries) lead with the bucket ``id / 65536`` (btree_gin), so a search
can read the matches of one id range at a time, in key order, and stop early
(``pkgdex.index.search``). SQLite: no change.

Revision ID: 0005_index_search_buckets
Revises: 0004_npmregistry
"""

from __future__ import annotations

from alembic import op

revision = "0005_index_search_buckets"
down_revision = "0004_npmregistry"
branch_labels = None
depends_on = None

# The separators names are made of (PyPI keys only use "-"); other punctuation is rare enough
# to stay a word break. Nested replace() costs a fraction of translate(), which compares every
# character with each one it maps, and GIN rechecks run this on every candidate.
SEPARATORS = "-._/@"
WORD = "k"
for _separator in SEPARATORS:
    WORD = f"replace({WORD}, '{_separator}', '7')"
WORD_FUNCTION = (
    "CREATE FUNCTION index_key_word(k text) RETURNS text "
    f"LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT {WORD} $$"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public")
    op.execute(WORD_FUNCTION)
    op.execute("DROP INDEX ix_trgm_index_entries_key")
    op.execute(
        "CREATE INDEX ix_trgm_word_index_entries_key ON index_entries "
        "USING gin ((id / 65536), index_key_word(key) public.gin_trgm_ops)"
    )
    op.execute("DROP INDEX ix_trgm_bigram_index_entries_key")
    op.execute(
        "CREATE INDEX ix_trgm_bigram_index_entries_key ON index_entries "
        "USING gin ((id / 65536), index_key_bigrams(key))"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("DROP INDEX ix_trgm_bigram_index_entries_key")
    op.execute(
        "CREATE INDEX ix_trgm_bigram_index_entries_key ON index_entries "
        "USING gin (index_key_bigrams(key))"
    )
    op.execute("DROP INDEX ix_trgm_word_index_entries_key")
    op.execute("DROP FUNCTION index_key_word(text)")
    op.execute(
        "CREATE INDEX ix_trgm_index_entries_key ON index_entries "
        "USING gin (key public.gin_trgm_ops)"
    )
