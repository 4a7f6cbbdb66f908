"""Substring search (rank 2) on each engine's native structure, behind one function.

SQLite: a contentless FTS5 trigram table per ecosystem and generation slot whose rowid is the
entry ``id``. Ids follow key order within a generation, so MATCH yields hits already in result
order and ``LIMIT`` stops early whether the substring is common or rare. A 2-character query has
no trigram of its own; it becomes an OR over the indexed trigrams that start with it (read from
the FTS vocabulary), and every key ends with ``END`` so a name ending in the query is found too.
PostgreSQL: ``LIKE '%q%'`` served by the pg_trgm GIN index or, for common substrings, by an
ordered scan of the key index; the planner picks.

The trigram structures may return false positives (detail=none keeps no positions), so every
hit is checked against the key itself.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, RowMapping, text

from pkgdex.index.keys import END, KEY_MAX


class Window(NamedTuple):
    """The serving generation and the id range its rows were bulk-loaded into."""

    gen: int
    first_id: int
    last_id: int


def fts_table(ecosystem: str, gen: int) -> str:
    # The only identifiers pkgdex puts into SQL text (hence the S608 waivers where it is used):
    # built from the fixed ECOSYSTEMS and a slot number, never from input.
    return f"fts_{ecosystem}_{gen % 2}"


def contains(
    conn: Connection, ecosystem: str, window: Window, key: str, limit: int
) -> list[RowMapping]:
    """Rows whose key contains ``key`` but does not start with it, in key order."""
    if conn.dialect.name == "sqlite":
        return _sqlite_contains(conn, ecosystem, window, key, limit)
    return _pg_contains(conn, ecosystem, window.gen, key, limit)


def _sqlite_contains(
    conn: Connection, ecosystem: str, window: Window, key: str, limit: int
) -> list[RowMapping]:
    table = fts_table(ecosystem, window.gen)
    match = _match_expression(conn, table, key)
    if match is None:
        return _scan_contains(conn, ecosystem, window.gen, key, limit)
    sql = (
        f"SELECT e.no, e.name, e.version, e.key FROM {table} f "  # noqa: S608
        "JOIN index_entries e ON e.id = f.rowid "
        f"WHERE {table} MATCH :match AND f.rowid BETWEEN :lo AND :hi "
        "AND e.gen = :gen AND instr(e.key, :key) > 1 ORDER BY f.rowid LIMIT :limit"
    )
    params = {"match": match, "gen": window.gen, "key": key, "limit": limit}
    bulk = list(conn.execute(text(sql), {**params, "lo": window.first_id, "hi": window.last_id}))
    # Rows added one at a time after the bulk load sit past last_id, outside key order.
    late = conn.execute(text(sql), {**params, "lo": window.last_id + 1, "hi": 2**62})
    rows = [row._mapping for row in bulk]
    extra = [row._mapping for row in late]
    if extra:
        rows = sorted(rows + extra, key=lambda row: (row["key"], row["name"]))[:limit]
    return rows


def _match_expression(conn: Connection, table: str, key: str) -> str | None:
    """An FTS5 query that finds every key containing ``key`` (or None: scan instead)."""
    if len(key) >= 3:
        trigrams = dict.fromkeys(key[i : i + 3] for i in range(len(key) - 2))
        return " AND ".join(_quote(t) for t in trigrams)
    if len(key) == 2:
        vocab = text(f"SELECT term FROM {table}_vocab WHERE term >= :lo AND term < :hi")  # noqa: S608
        terms = conn.execute(vocab, {"lo": key, "hi": key + KEY_MAX}).scalars().all()
        return " OR ".join(_quote(t) for t in terms) if terms else _quote(key + END)
    return None


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _scan_contains(
    conn: Connection, ecosystem: str, gen: int, key: str, limit: int
) -> list[RowMapping]:
    """Key-ordered scan that stops at ``limit``: for 1-character keys, where nothing else helps."""
    sql = text(
        "SELECT e.no, e.name, e.version, e.key FROM index_entries e "
        "WHERE e.ecosystem = :eco AND e.gen = :gen "
        "AND instr(e.key, :key) > 1 ORDER BY e.key LIMIT :limit"
    )
    params = {"eco": ecosystem, "gen": gen, "key": key, "limit": limit}
    return [row._mapping for row in conn.execute(sql, params)]


# strpos() alone, no LIKE: the trigram index cannot serve it, so the planner walks the key
# index in order and stops at :limit (2-character keys, which have no trigram).
_PG_SCAN = text(
    "SELECT e.no, e.name, e.version, e.key FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND strpos(e.key, :key) > 1 "
    "ORDER BY e.key LIMIT :limit"
)
# Up to :cap matches through the trigram index, and the first :limit of them by key.
_PG_TRIGRAM = text(
    "WITH m AS MATERIALIZED (SELECT e.no, e.name, e.version, e.key FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND e.key LIKE :pattern ESCAPE '\\' "
    "AND strpos(e.key, :key) > 1 LIMIT :cap) "
    "SELECT c.found, r.no, r.name, r.version, r.key FROM (SELECT count(*) AS found FROM m) c "
    "LEFT JOIN LATERAL (SELECT * FROM m ORDER BY m.key LIMIT :limit) r ON true"
)
# Every match up to a key known to be preceded by :limit matches, first :limit by key.
_PG_TRIGRAM_UPTO = text(
    "SELECT e.no, e.name, e.version, e.key FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND e.key LIKE :pattern ESCAPE '\\' "
    "AND strpos(e.key, :key) > 1 AND e.key <= :upto ORDER BY e.key LIMIT :limit"
)
PG_TRIGRAM_CAP = 5_000


def _pg_contains(
    conn: Connection, ecosystem: str, gen: int, key: str, limit: int
) -> list[RowMapping]:
    """Substring matches through pg_trgm, fetching only what the first ``limit`` need.

    Up to ``PG_TRIGRAM_CAP`` matches come first; when there are more, the ``limit``-th smallest
    key among them bounds the answer (at least ``limit`` matches sort before it), so a second
    query reads only matches up to that key. A bulk load writes rows in key order, so the first
    matches the index returns are nearly the smallest keys and the bound is tight.
    """
    pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    params = {"eco": ecosystem, "gen": gen, "pattern": pattern, "key": key, "limit": limit}
    if len(key) < 3:
        return [row._mapping for row in conn.execute(_PG_SCAN, params)]
    rows = conn.execute(_PG_TRIGRAM, {**params, "cap": PG_TRIGRAM_CAP}).all()
    if rows[0].found < PG_TRIGRAM_CAP:
        return [row._mapping for row in rows if row.key is not None]
    upto = rows[-1].key if len(rows) >= limit else KEY_MAX  # fewer: no bound known
    bounded = conn.execute(_PG_TRIGRAM_UPTO, {**params, "upto": upto})
    return [row._mapping for row in bounded]
