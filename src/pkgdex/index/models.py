"""Tables of the index domain.

``index_numbers`` remembers every name ever seen per ecosystem with its stable number ``no``,
so a name keeps its number across loads and gets it back if it returns. ``index_entries`` holds
the searchable rows of one or two *generations* per ecosystem: a load writes a new generation
beside the serving one and ``index_state.gen`` is switched in one short transaction.

Within a generation, ``id`` follows the search key order (rows are inserted sorted by key), so
the full-text structures keyed by ``id`` return hits already in result order; ``bpos`` is the
row's 1-based position in ``no`` order, which makes browse pages a direct range lookup.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from pkgdex.db import metadata

# Byte-order comparison on both engines, so ORDER BY key matches Python's str order.
KeyType = String(400).with_variant(String(400, collation="C"), "postgresql")
RowId = BigInteger().with_variant(Integer(), "sqlite")  # INTEGER PRIMARY KEY = the rowid

index_numbers = Table(
    "index_numbers",
    metadata,
    Column("ecosystem", String(16), nullable=False),
    Column("key", KeyType, nullable=False),
    Column("no", Integer, nullable=False),
    PrimaryKeyConstraint("ecosystem", "key"),
    # The next number is max(no) + 1: without this, record_seen reads every number.
    Index("ix_index_numbers_no", "ecosystem", "no"),
)

index_entries = Table(
    "index_entries",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("ecosystem", String(16), nullable=False),
    Column("gen", Integer, nullable=False),
    Column("key", KeyType, nullable=False),
    Column("name", String(400), nullable=False),
    Column("no", Integer, nullable=False),
    Column("bpos", Integer, nullable=False),
    Column("version", String(200), nullable=False),
    Column("summary", Text, nullable=True),
    Column("popularity", BigInteger, nullable=True),
    Column("month", String(7), nullable=True),
    Index("ix_index_entries_key", "ecosystem", "gen", "key", unique=True),
    Index("ix_index_entries_bpos", "ecosystem", "gen", "bpos", unique=True),
)

index_state = Table(
    "index_state",
    metadata,
    Column("ecosystem", String(16), primary_key=True),
    Column("gen", Integer, nullable=False, server_default="0"),
    Column("first_id", BigInteger, nullable=False, server_default="0"),
    Column("last_id", BigInteger, nullable=False, server_default="0"),
    Column("total", Integer, nullable=False, server_default="0"),
    Column("loaded", Boolean, nullable=False, server_default="0"),
    Column("last_updated", DateTime(timezone=True), nullable=True),
    Column("source", Text, nullable=True),
    Column("format", String(16), nullable=True),
    Column("changes_seq", Text, nullable=True),
)
