"""Tables of the index domain, and each engine's native substring-search structure.

SQLite: per ecosystem two contentless FTS5 trigram tables (one per generation slot, so a load
fills one while the other serves) and their vocabularies. PostgreSQL: a pg_trgm GIN index.

Revision ID: 0001_index
Revises: None
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_index"
down_revision = None
branch_labels = None
depends_on = None

ECOSYSTEMS = ("pypi", "npm")
SLOTS = (0, 1)
KEY = sa.String(400).with_variant(sa.String(400, collation="C"), "postgresql")
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "index_numbers",
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("no", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("ecosystem", "key", name="pk_index_numbers"),
    )
    op.create_index("ix_index_numbers_no", "index_numbers", ["ecosystem", "no"])
    op.create_table(
        "index_entries",
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("gen", sa.Integer, nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("name", sa.String(400), nullable=False),
        sa.Column("no", sa.Integer, nullable=False),
        sa.Column("bpos", sa.Integer, nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
        sa.Column("popularity", sa.BigInteger, nullable=True),
        sa.Column("month", sa.String(7), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_index_entries"),
    )
    op.create_index(
        "ix_index_entries_key", "index_entries", ["ecosystem", "gen", "key"], unique=True
    )
    op.create_index(
        "ix_index_entries_bpos", "index_entries", ["ecosystem", "gen", "bpos"], unique=True
    )
    op.create_table(
        "index_state",
        sa.Column("ecosystem", sa.String(16), nullable=False),
        sa.Column("gen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("first_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("loaded", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.Text, nullable=True),
        sa.Column("format", sa.String(16), nullable=True),
        sa.Column("changes_seq", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("ecosystem", name="pk_index_state"),
    )
    if op.get_bind().dialect.name == "sqlite":
        for ecosystem in ECOSYSTEMS:
            for slot in SLOTS:
                name = f"fts_{ecosystem}_{slot}"
                op.execute(
                    f"CREATE VIRTUAL TABLE {name} USING fts5("
                    "key, content='', tokenize='trigram', detail='none')"
                )
                op.execute(f"CREATE VIRTUAL TABLE {name}_vocab USING fts5vocab({name}, 'row')")
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        op.execute(
            "CREATE INDEX ix_trgm_index_entries_key ON index_entries "
            "USING gin (key public.gin_trgm_ops)"
        )
        # pg_trgm has nothing for a 2-character query: index each key's distinct bigrams
        # after its first character (the ones a "contains but does not start with" match uses).
        op.execute(
            "CREATE FUNCTION index_key_bigrams(k text) RETURNS text[] "
            "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS "
            "$$ SELECT coalesce(array_agg(DISTINCT substr(k, i, 2)), '{}') "
            "FROM generate_series(2, length(k) - 1) AS i $$"
        )
        op.execute(
            "CREATE INDEX ix_trgm_bigram_index_entries_key ON index_entries "
            "USING gin (index_key_bigrams(key))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for ecosystem in ECOSYSTEMS:
            for slot in SLOTS:
                op.execute(f"DROP TABLE IF EXISTS fts_{ecosystem}_{slot}_vocab")
                op.execute(f"DROP TABLE IF EXISTS fts_{ecosystem}_{slot}")
    else:
        op.execute("DROP INDEX IF EXISTS ix_trgm_bigram_index_entries_key")
        op.execute("DROP FUNCTION IF EXISTS index_key_bigrams(text)")
    op.drop_table("index_state")
    op.drop_table("index_entries")
    op.drop_table("index_numbers")
