"""Substring search (rank 2) on each engine's native structure, behind one function.

SQLite: a contentless FTS5 trigram table per ecosystem and generation slot whose rowid is the
entry ``id``. Ids follow key order within a generation, so MATCH yields hits already in result
order and ``LIMIT`` stops early whether the substring is common or rare. A 2-character query has
no trigram of its own; it becomes an OR over the indexed trigrams that start with it (read from
the FTS vocabulary), and every key ends with ``END`` so a name ending in the query is found too.
PostgreSQL: ``LIKE '%q%'`` served by the pg_trgm GIN index, and 2-character queries by a GIN
index over each key's bigrams; always through bitmap scans (see ``_PG_BITMAP_ONLY``).

The trigram structures may return false positives (detail=none keeps no positions), so every
hit is checked against the key itself.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, RowMapping, TextClause, text

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
    return _pg_contains(conn, ecosystem, window, key, limit)


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


# Each query shape has its own match predicate: pg_trgm serves LIKE for 3 or more characters,
# the bigram GIN index (migration 0001) serves 2-character keys, which have no trigram.
_PG_MATCH = {
    "trigram": "e.key LIKE :pattern ESCAPE '\\'",
    "bigram": "index_key_bigrams(e.key) @> ARRAY[CAST(:key AS text)]",
}
# Up to :cap matches through the GIN index, and the first :limit of them by key.
_PG_PROBE = (
    "WITH m AS MATERIALIZED (SELECT e.id, e.no, e.name, e.version, e.key FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND {match} "
    "AND strpos(e.key, :key) > 1 LIMIT :cap) "
    "SELECT c.found, r.id, r.no, r.name, r.version, r.key FROM (SELECT count(*) AS found FROM m) c "
    "LEFT JOIN LATERAL (SELECT * FROM m ORDER BY m.key LIMIT :limit) r ON true"
)
# Every match up to a key known to be preceded by :limit matches, first :limit by key.
# ``e.key || ''`` keeps the key index out of the bitmap: ANDed with the GIN bitmap, its
# range (often most of a generation) costs far more than rechecking the GIN candidates.
_PG_UPTO = (
    "SELECT e.no, e.name, e.version, e.key FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND {match} "
    "AND strpos(e.key, :key) > 1 AND (e.key || '') <= :upto ORDER BY e.key LIMIT :limit"
)
# A bulk load gives a generation's rows ids in key order, so when :limit matches are known
# with ids up to :upto_id, the answer lies in that id range (or among rows added one at a time
# after the load, past :last): a short read of that range, whatever the number of candidates.
_PG_UPTO_ID = text(
    "SELECT e.no, e.name, e.version, e.key FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen "
    "AND (e.id BETWEEN :first AND :upto_id OR e.id > :last) "
    "AND strpos(e.key, :key) > 1 ORDER BY e.key LIMIT :limit"
)
PG_ID_RANGE = 60_000
# The planner's row estimate for the GIN predicate alone (from the column and expression
# index statistics): how many candidates a bitmap scan would have to collect.
_PG_ESTIMATE = (
    "EXPLAIN (FORMAT JSON) SELECT 1 FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND {match}"
)
_PG_QUERIES = {
    kind: tuple(text(sql.format(match=match)) for sql in (_PG_PROBE, _PG_UPTO, _PG_ESTIMATE))
    for kind, match in _PG_MATCH.items()
}
# Bitmap scans only: an ordered walk of the key index, filtering as it goes, is what the
# planner likes for a LIMIT but reads most of a generation when the matches are rare or sit
# late in key order. A bitmap scan reads only the GIN candidates, whatever their order.
_PG_BITMAP_ONLY = text(
    "SELECT set_config('enable_indexscan', 'off', true), "
    "set_config('enable_seqscan', 'off', true)"
)
_PG_PLANNER_BACK = text(
    "SELECT set_config('enable_indexscan', :indexscan, true), "
    "set_config('enable_seqscan', :seqscan, true)"
)
_PG_PLANNER_NOW = text(
    "SELECT current_setting('enable_indexscan'), current_setting('enable_seqscan')"
)
PG_TRIGRAM_CAP = 2_000
# A substring found in many keys is cheapest to answer by walking the first keys in order;
# only when that short walk finds too few does a GIN bitmap scan (whose cost grows with the
# number of matches, not with how early they sit) take over.
_PG_WALK = text(
    "SELECT w.no, w.name, w.version, w.key FROM (SELECT e.no, e.name, e.version, e.key "
    "FROM index_entries e WHERE e.ecosystem = :eco AND e.gen = :gen "
    "ORDER BY e.key LIMIT :budget) w WHERE strpos(w.key, :key) > 1 ORDER BY w.key LIMIT :limit"
)
PG_LONG_WALK = 40_000
# Above this many estimated candidates, walking keys in order (stopping at the limit-th hit)
# is cheaper than collecting every candidate into a bitmap.
PG_DENSE = 40_000


def _pg_walk(
    conn: Connection, params: dict[str, object], budget: int, limit: int
) -> list[RowMapping] | None:
    """The first ``limit`` matches among the first ``budget`` keys, or None if fewer."""
    rows = [row._mapping for row in conn.execute(_PG_WALK, {**params, "budget": budget})]
    return rows if len(rows) >= limit else None


def _pg_estimate(conn: Connection, query: TextClause, params: dict[str, object]) -> float:
    plan = conn.execute(query, params).scalar_one()
    return float(plan[0]["Plan"]["Plan Rows"])


def _pg_contains(
    conn: Connection, ecosystem: str, window: Window, key: str, limit: int
) -> list[RowMapping]:
    """Substring matches through a GIN index, fetching only what the first ``limit`` need.

    Up to ``PG_TRIGRAM_CAP`` matches come first; when there are more, the ``limit``-th smallest
    key among them bounds the answer (at least ``limit`` matches sort before it), so a second
    query reads only matches up to that key. A bulk load writes rows in key order, so the first
    matches the index returns are nearly the smallest keys and the bound is tight.
    """
    pattern = "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    params = {"eco": ecosystem, "gen": window.gen, "pattern": pattern, "key": key, "limit": limit}
    probe, upto_query, estimate = _PG_QUERIES["bigram" if len(key) == 2 else "trigram"]
    if len(key) < 2:
        return _pg_scan(conn, params)
    if _pg_estimate(conn, estimate, params) > PG_DENSE:
        walked = _pg_walk(conn, params, PG_LONG_WALK, limit)
        if walked is not None:
            return walked
    before = conn.execute(_PG_PLANNER_NOW).one()
    conn.execute(_PG_BITMAP_ONLY)
    try:
        rows = conn.execute(probe, {**params, "cap": PG_TRIGRAM_CAP}).all()
        if rows[0].found < PG_TRIGRAM_CAP:
            return [row._mapping for row in rows if row.key is not None]
        bulk_ids = [row.id for row in rows if window.first_id <= row.id <= window.last_id]
        if len(bulk_ids) >= limit and bulk_ids[-1] - window.first_id < PG_ID_RANGE:
            ids = {"first": window.first_id, "upto_id": bulk_ids[-1], "last": window.last_id}
            return [row._mapping for row in conn.execute(_PG_UPTO_ID, {**params, **ids})]
        upto = rows[-1].key if len(rows) >= limit else KEY_MAX  # fewer: no bound known
        return [row._mapping for row in conn.execute(upto_query, {**params, "upto": upto})]
    finally:
        conn.execute(_PG_PLANNER_BACK, {"indexscan": before[0], "seqscan": before[1]})


# strpos() alone: for a 1-character key no GIN index helps, so walk the key index in order
# and stop at :limit (a 1-character substring is in most keys, so the walk is short).
_PG_SCAN = text(
    "SELECT e.no, e.name, e.version, e.key FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND strpos(e.key, :key) > 1 "
    "ORDER BY e.key LIMIT :limit"
)


def _pg_scan(conn: Connection, params: dict[str, object]) -> list[RowMapping]:
    return [row._mapping for row in conn.execute(_PG_SCAN, params)]
