"""Substring search (rank 2) on each engine's native structure, behind one function.

SQLite: a contentless FTS5 trigram table per ecosystem and generation slot whose rowid is the
entry ``id``. Ids follow key order within a generation, so MATCH yields hits already in result
order and ``LIMIT`` stops early whether the substring is common or rare. A 2-character query has
no trigram of its own; it becomes an OR over the indexed trigrams that start with it (read from
the FTS vocabulary), and every key ends with ``END`` so a name ending in the query is found too.
PostgreSQL: a ``LIKE`` pattern of the query's rarer trigrams (``pkgdex.index.grams``) served by the
pg_trgm GIN index, and 2-character queries by a GIN index over each key's bigrams; always
through bitmap scans (see ``_PG_SEARCH_SETTINGS``).

The trigram structures may return false positives (detail=none keeps no positions), so every
hit is checked against the key itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, RowMapping, TextClause, bindparam, text

from pkgdex.index import grams as gin_grams
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
    """Rows whose key contains ``key`` but does not start with it, in key order; each with its
    ``no``, ``name``, ``version``, ``key`` and ``popularity`` (npm search ranks by it)."""
    if conn.dialect.name == "sqlite":
        return _sqlite_contains(conn, ecosystem, window, key, limit)
    return _pg_contains(conn, ecosystem, window, key, limit)


def _sqlite_contains(
    conn: Connection, ecosystem: str, window: Window, key: str, limit: int
) -> list[RowMapping]:
    table = fts_table(ecosystem, window.gen)
    match = _match_expression(conn, ecosystem, window.gen, key)
    if match is None:
        return _scan_contains(conn, ecosystem, window.gen, key, limit)
    sql = (
        f"SELECT e.no, e.name, e.version, e.key, e.popularity FROM {table} f "  # noqa: S608
        "JOIN index_entries e ON e.id = f.rowid "
        f"WHERE {table} MATCH :match AND f.rowid BETWEEN :lo AND :hi "
        "AND e.gen = :gen AND instr(e.key, :key) > 1 ORDER BY f.rowid LIMIT :limit"
    )
    params = {"match": match, "gen": window.gen, "key": key, "limit": limit}
    # .all(): every row in one driver call (iterating a result fetches them one at a time).
    bulk = {**params, "lo": window.first_id, "hi": window.last_id}
    rows = list(conn.execute(text(sql), bulk).mappings().all())
    # Rows added one at a time after the bulk load sit past last_id, outside key order.
    late = {**params, "lo": window.last_id + 1, "hi": 2**62}
    extra = conn.execute(text(sql), late).mappings().all()
    if extra:
        rows = sorted([*rows, *extra], key=lambda row: (row["key"], row["name"]))[:limit]
    return rows


def _match_expression(conn: Connection, ecosystem: str, gen: int, key: str) -> str | None:
    """An FTS5 query that finds every key containing ``key`` (or None: scan instead): its
    trigrams worth reading (``grams.worth_reading``); ``instr`` checks the whole key after."""
    table = fts_table(ecosystem, gen)
    if len(key) >= 3:
        trigrams = list(dict.fromkeys(gin_grams.trigrams(key)))
        params = {"eco": ecosystem, "gen": gen, "grams": trigrams}
        counts: dict[str, int] = dict(conn.execute(_SQLITE_GRAM_COUNTS, params).all())
        chosen = gin_grams.worth_reading(trigrams, counts, SQLITE_SAMPLE) if counts else None
        picked = trigrams if chosen is None else [trigrams[at] for at in sorted(chosen)]
        return " AND ".join(_quote(t) for t in picked)
    if len(key) == 2:
        vocab = text(f"SELECT term FROM {table}_vocab WHERE term >= :lo AND term < :hi")  # noqa: S608
        terms = conn.execute(vocab, {"lo": key, "hi": key + KEY_MAX}).scalars().all()
        return " OR ".join(_quote(t) for t in terms) if terms else _quote(key + END)
    return None


# How often each trigram of the keys occurs among every SQLITE_SAMPLE-th row of a generation
# (migration 0008): a load writes its generation's counts, and a search reads its query's.
SQLITE_SAMPLE = 50
_SQLITE_GRAM_COUNTS = text(
    "SELECT gram, n FROM ix_trgm_counts WHERE ecosystem = :eco AND gen = :gen AND gram IN :grams"
).bindparams(bindparam("grams", expanding=True))
_SQLITE_SAMPLED_KEYS = text(
    "SELECT key FROM index_entries WHERE ecosystem = :eco AND gen = :gen AND id % :sample = 0"
)
_SQLITE_CLEAR_OWN_COUNTS = text("DELETE FROM ix_trgm_counts WHERE ecosystem = :eco AND gen = :gen")
_SQLITE_ADD_COUNT = text(
    "INSERT INTO ix_trgm_counts (ecosystem, gen, gram, n) VALUES (:eco, :gen, :gram, :n)"
)


def sqlite_count_grams(conn: Connection, ecosystem: str, gen: int) -> None:
    """Write generation ``gen``'s trigram counts, dropping those of any but the serving one.
    Counted in Python: SQLite has no generate_series, and a join with a recursive CTE of
    positions costs seconds where this costs a fraction of one."""
    params = {"eco": ecosystem, "gen": gen, "sample": SQLITE_SAMPLE}
    conn.execute(_CLEAR_OTHER_COUNTS, params)
    conn.execute(_SQLITE_CLEAR_OWN_COUNTS, params)  # counted again: the serving one, rebuilt
    counts: Counter[str] = Counter()
    for key in conn.execute(_SQLITE_SAMPLED_KEYS, params).scalars():
        counts.update(gin_grams.trigrams(key))
    rows = [{"eco": ecosystem, "gen": gen, "gram": g, "n": n} for g, n in counts.items()]
    if rows:
        conn.execute(_SQLITE_ADD_COUNT, rows)


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _scan_contains(
    conn: Connection, ecosystem: str, gen: int, key: str, limit: int
) -> list[RowMapping]:
    """Key-ordered scan that stops at ``limit``: for 1-character keys, where nothing else helps."""
    sql = text(
        "SELECT e.no, e.name, e.version, e.key, e.popularity FROM index_entries e "
        "WHERE e.ecosystem = :eco AND e.gen = :gen "
        "AND instr(e.key, :key) > 1 ORDER BY e.key LIMIT :limit"
    )
    params = {"eco": ecosystem, "gen": gen, "key": key, "limit": limit}
    return list(conn.execute(sql, params).mappings().all())


# PostgreSQL. pg_trgm splits text into words at every character that is not a letter or digit
# and pads each word, so the pattern '%est-lit%' would ask for trigrams like " li" whose
# posting lists hold much of the index. Migration 0005 indexes index_key_word(key) instead:
# the key with each of the separators names are made of replaced by "7" (the rarest character
# in names), one word to pg_trgm. A query is mapped the same way, and strpos() on the real key
# drops whatever the stand-in let through.
_WORD = str.maketrans(dict.fromkeys("-._/@", "7"))
# pg_trgm serves 3 or more characters, a GIN index over each key's bigrams 2-character keys.
_PG_MATCH = {
    "trigram": "index_key_word(e.key) LIKE :word ESCAPE '\\'",
    "bigram": "index_key_bigrams(e.key) @> ARRAY[CAST(:key AS text)]",
}
# Up to :cap matches through the GIN index, and the first :limit of them by key.
_PG_PROBE = (
    "WITH m AS MATERIALIZED (SELECT e.id, e.no, e.name, e.version, e.key, e.popularity "
    "FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND {match} "
    "AND strpos(e.key, :key) > 1 LIMIT :cap) "
    "SELECT c.found, r.id, r.no, r.name, r.version, r.key, r.popularity "
    "FROM (SELECT count(*) AS found FROM m) c "
    "LEFT JOIN LATERAL (SELECT * FROM m ORDER BY m.key LIMIT :limit) r ON true"
)
# Both GIN indexes lead with the row's id bucket, ``id / 65536`` (btree_gin; the literal must
# stay that of migration 0005, or the index no longer matches). Ids follow key order within a
# bulk load, so walking the buckets in order, each one's matches sorted by key, yields matches
# in key order, and LIMIT stops the walk at the bucket holding the :limit-th match: a dense
# substring costs the few buckets its first matches sit in, not all of its matches. Rows added
# one at a time after the load (ids past :last) are outside key order and read apart.
PG_BUCKET = 65536
# A walk's matches ("w") joined with the rows added after the load, first :limit by key, and
# how many the walk found (fewer than :limit: the walk fell short and another path follows).
_PG_WALK_TAIL = (
    "late AS MATERIALIZED (SELECT e.no, e.name, e.version, e.key, e.popularity "
    "FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND e.id > :last AND strpos(e.key, :key) > 1 "
    "ORDER BY e.key LIMIT :limit) "
    "SELECT c.walked, r.no, r.name, r.version, r.key, r.popularity "
    "FROM (SELECT count(*) AS walked FROM w) c "
    "LEFT JOIN LATERAL (SELECT * FROM w UNION ALL SELECT * FROM late "
    "ORDER BY key LIMIT :limit) r ON true"
)
_PG_BUCKET_WALK = (
    "WITH w AS MATERIALIZED (SELECT m.* FROM generate_series(CAST(:b_first AS bigint), "  # noqa: S608
    "CAST(:b_last AS bigint)) AS b(b) CROSS JOIN LATERAL "
    "(SELECT e.no, e.name, e.version, e.key, e.popularity "
    "FROM index_entries e WHERE e.id / 65536 = b.b AND {match} AND e.ecosystem = :eco "
    "AND e.gen = :gen AND e.id BETWEEN :first AND :last AND strpos(e.key, :key) > 1 "
    "ORDER BY e.key) m LIMIT :limit), " + _PG_WALK_TAIL
)
# The same over the first :upto ids alone, without the GIN index: for substrings so common
# that the first few thousand keys hold :limit matches, which a bucket would sort thousands of.
_PG_PREFIX_WALK = text(
    "WITH w AS MATERIALIZED (SELECT e.no, e.name, e.version, e.key, e.popularity "
    "FROM index_entries e "
    "WHERE e.id BETWEEN :first AND :upto AND e.ecosystem = :eco AND e.gen = :gen "
    "AND strpos(e.key, :key) > 1 ORDER BY e.key LIMIT :limit), " + _PG_WALK_TAIL
)
# Every match up to a key known to be preceded by :limit matches, first :limit by key.
# ``e.key || ''`` keeps the key index out of the bitmap: ANDed with the GIN bitmap, its
# range (often most of a generation) costs far more than rechecking the GIN candidates.
_PG_UPTO = (
    "SELECT e.no, e.name, e.version, e.key, e.popularity FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND {match} "
    "AND strpos(e.key, :key) > 1 AND (e.key || '') <= :upto ORDER BY e.key LIMIT :limit"
)
# Every match, first :limit by key: when no bound is known (the bound's test, on every
# candidate, costs as much as a tenth of a common substring's search).
_PG_ALL = (
    "SELECT e.no, e.name, e.version, e.key, e.popularity FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND {match} "
    "AND strpos(e.key, :key) > 1 ORDER BY e.key LIMIT :limit"
)
# When :limit matches are known with ids up to :upto_id, the answer lies in that id range (or
# among rows added one at a time after the load, past :last): a short read of that range.
_PG_UPTO_ID = text(
    "SELECT e.no, e.name, e.version, e.key, e.popularity FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen "
    "AND (e.id BETWEEN :first AND :upto_id OR e.id > :last) "
    "AND strpos(e.key, :key) > 1 ORDER BY e.key LIMIT :limit"
)
PG_ID_RANGE = 60_000
# The same for a longer range, through the GIN index: the range goes to the BRIN index of
# migration 0007, a page bitmap PostgreSQL ANDs with the GIN one, so only candidates in those
# pages are read ("o-addon": 900 of its 24 K candidates, all in the pages past the bound).
_PG_UPTO_IDS = (
    "WITH w AS MATERIALIZED (SELECT e.no, e.name, e.version, e.key, e.popularity "
    "FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND {match} "
    "AND e.id BETWEEN :first AND :upto_id AND strpos(e.key, :key) > 1 "
    "ORDER BY e.key LIMIT :limit), " + _PG_WALK_TAIL
)
_PG_QUERIES = {
    kind: tuple(
        text(sql.format(match=match))
        for sql in (_PG_PROBE, _PG_BUCKET_WALK, _PG_UPTO, _PG_ALL, _PG_UPTO_IDS)
    )
    for kind, match in _PG_MATCH.items()
}
# Bitmap scans only: an ordered walk of the key index, filtering as it goes, is what the
# planner likes for a LIMIT but reads most of a generation when the matches are rare or sit
# late in key order. A bitmap scan reads only the GIN candidates, whatever their order. No JIT
# (its compile time is many such queries) and no parallel workers (the bucket walk relies on
# a nested loop returning the buckets in order). Set for the transaction (a rollback undoes
# them), or for the session in autocommit, where a transaction is one statement.
_PG_SEARCH_SETTINGS = {"indexscan": "off", "seqscan": "off", "jit": "off", "workers": "0"}
_PG_SET = text(
    "SELECT set_config('enable_indexscan', :indexscan, :local), "
    "set_config('enable_seqscan', :seqscan, :local), set_config('jit', :jit, :local), "
    "set_config('max_parallel_workers_per_gather', :workers, :local)"
)
# The same, returning the settings as they were (read in the materialized CTE, before the
# statement changes them) and how often each of the query's grams occurs in the sample of
# ``pg_prepare`` (the rarest one's count bounds the candidates, over PG_SAMPLE; a gram left
# out was not seen there): one round trip.
_PG_SWAP_SETTINGS = text(
    "WITH was AS MATERIALIZED (SELECT current_setting('enable_indexscan') AS indexscan, "
    "current_setting('enable_seqscan') AS seqscan, current_setting('jit') AS jit, "
    "current_setting('max_parallel_workers_per_gather') AS workers) "
    "SELECT was.*, set_config('enable_indexscan', :indexscan, :local), "
    "set_config('enable_seqscan', :seqscan, :local), set_config('jit', :jit, :local), "
    "set_config('max_parallel_workers_per_gather', :workers, :local), "
    "(SELECT json_object_agg(c.gram, c.n) FROM ix_trgm_counts c "
    "WHERE c.ecosystem = :eco AND c.gen = :gen AND c.gram = ANY(CAST(:grams AS text[]))) "
    "AS seen FROM was"
)
PG_TRIGRAM_CAP = 2_000
# The count of a query's rarest gram (in the sample, times PG_SAMPLE) bounds its candidates
# and drives the cost of one bitmap scan over them: GIN work grows with the posting lists it
# goes through, whatever the number of matches. Up to PG_TRIGRAM_CAP the capped bitmap scan
# comes first. Up to PG_DENSE, a walk of PG_SHORT_WALK buckets does (it answers substrings
# dense among the first keys), then a walk of PG_LONG_WALK buckets if the short one's density
# promises enough matches there, else one read of every candidate (up to PG_EVERY).
# Above, a walk of PG_LONG_WALK buckets (substrings dense further on), then the capped scan.
# Each bucket costs a GIN descent even when it holds no match. Reading every candidate is kept
# for estimates up to PG_EVERY: above, the capped scan and a read bounded by its ids cost less
# ("o-addon", 24 K candidates in one id range: 47 ms of CPU read all, 30 ms that way).
PG_DENSE = 50_000
PG_EVERY = 30_000
PG_SHORT_WALK = 2
PG_LONG_WALK = 12
# Above this estimate, the first PG_PREFIX_IDS keys are read before any bucket.
PG_VERY_DENSE = 150_000
PG_PREFIX_IDS = 10_000
Rows = Sequence[Row[Any]]


def _pg_contains(
    conn: Connection, ecosystem: str, window: Window, key: str, limit: int
) -> list[RowMapping]:
    """Substring matches through a GIN index, fetching only what the first ``limit`` need."""
    params = {"eco": ecosystem, "gen": window.gen, "key": key, "limit": limit}
    if len(key) < 2:
        return _pg_scan(conn, params)
    word = key.translate(_WORD)
    grams = [key] if len(key) == 2 else list(dict.fromkeys(gin_grams.trigrams(word)))
    swap = {**_PG_SEARCH_SETTINGS, "eco": ecosystem, "gen": window.gen, "grams": grams}
    local = not getattr(conn.connection.driver_connection, "autocommit", False)
    swap["local"] = local
    was = conn.execute(_PG_SWAP_SETTINGS, swap).one()
    try:
        counts = {gram: int((was.seen or {}).get(gram, 0)) for gram in grams}
        params["word"] = gin_grams.word_pattern(word, counts, PG_SAMPLE) if len(key) > 2 else None
        queries = _PG_QUERIES["bigram" if len(key) == 2 else "trigram"]
        return _pg_paths(conn, queries, params, window, min(counts.values()) * PG_SAMPLE)
    finally:
        back = {name: getattr(was, name) for name in _PG_SEARCH_SETTINGS}
        conn.execute(_PG_SET, {**back, "local": local})


def _pg_paths(
    conn: Connection,
    queries: tuple[TextClause, ...],
    params: dict[str, object],
    window: Window,
    estimate: int,
) -> list[RowMapping]:
    """The cheapest path first (see PG_DENSE), the next one when it cannot tell the answer.

    If no walk within budget finds ``limit`` matches, the capped scan's ``limit``-th smallest
    key bounds the answer (at least ``limit`` matches sort before it), so a last query reads
    only matches up to it: by id range (a plain read when short, else the GIN candidates of the
    pages the BRIN index gives), or by key when the bound is not a bulk-loaded row's id.
    """
    probe, walk, upto_query, every, upto_ids = queries
    walked = _pg_prefix(conn, params, window) if estimate > PG_VERY_DENSE else None
    if walked is not None:
        return walked
    rows = None
    if estimate <= PG_TRIGRAM_CAP:
        rows = conn.execute(probe, {**params, "cap": PG_TRIGRAM_CAP}).all()
        if rows[0].found < PG_TRIGRAM_CAP:
            return [row._mapping for row in rows if row.key is not None]
    budgets = [PG_LONG_WALK] if estimate > PG_DENSE else [PG_SHORT_WALK, PG_LONG_WALK]
    walked, seen = _pg_walk(conn, walk, params, window, budgets[0])
    if walked is not None:
        return walked
    if len(budgets) > 1 and seen * budgets[1] >= 2 * _limit(params) * budgets[0]:
        # The short walk's matches, at half their density, fill the long walk: it comes first,
        # as reading every candidate costs the whole of a common substring's posting lists.
        walked, _ = _pg_walk(conn, walk, params, window, budgets[1])
        if walked is not None:
            return walked
        budgets = budgets[:1]
    if rows is None and estimate <= min(PG_DENSE, PG_EVERY):
        # Few enough candidates to read them all in one go, rather than a capped scan's
        # share and a bounded read after it.
        return [row._mapping for row in conn.execute(every, params)]
    if rows is None:
        rows = conn.execute(probe, {**params, "cap": PG_TRIGRAM_CAP}).all()
        if rows[0].found < PG_TRIGRAM_CAP:
            return [row._mapping for row in rows if row.key is not None]
    return _pg_bounded(conn, (upto_query, upto_ids), params, window, rows)


def _pg_prefix(
    conn: Connection, params: dict[str, object], window: Window
) -> list[RowMapping] | None:
    """The answer from the first ``PG_PREFIX_IDS`` keys, or None if they were not enough."""
    upto = min(window.last_id, window.first_id + PG_PREFIX_IDS - 1)
    ids = {"first": window.first_id, "upto": upto, "last": window.last_id}
    rows = conn.execute(_PG_PREFIX_WALK, {**params, **ids}).all()
    return _pg_walked(rows, params, complete=upto == window.last_id)


def _pg_walk(
    conn: Connection,
    walk: TextClause,
    params: dict[str, object],
    window: Window,
    budget: int,
) -> tuple[list[RowMapping] | None, int]:
    """The answer from at most ``budget`` id buckets (None if they were not enough), and how
    many matches those buckets held."""
    b_first, b_last = window.first_id // PG_BUCKET, window.last_id // PG_BUCKET
    b_end = min(b_last, b_first + budget - 1)
    ids = {"first": window.first_id, "last": window.last_id, "b_first": b_first, "b_last": b_end}
    rows = conn.execute(walk, {**params, **ids}).all()
    return _pg_walked(rows, params, complete=b_end == b_last), rows[0].walked


def _pg_walked(rows: Rows, params: dict[str, object], *, complete: bool) -> list[RowMapping] | None:
    """A walk's answer: it holds ``limit`` matches, or it read every row; else None."""
    if rows[0].walked < _limit(params) and not complete:
        return None  # matches may sit in the rows not read
    return [row._mapping for row in rows if row.key is not None]


def _limit(params: dict[str, object]) -> int:
    return int(str(params["limit"]))


def _pg_bounded(
    conn: Connection,
    bounded: tuple[TextClause, TextClause],
    params: dict[str, object],
    window: Window,
    rows: Rows,
) -> list[RowMapping]:
    """The answer below the bound the first ``PG_TRIGRAM_CAP`` candidates give: an id when
    ``limit`` of them were bulk-loaded (ids follow key order there), else a key."""
    upto_key, upto_ids = bounded
    limit = _limit(params)
    bulk_ids = [row.id for row in rows if window.first_id <= row.id <= window.last_id]
    if len(bulk_ids) >= limit:
        ids = {"first": window.first_id, "upto_id": bulk_ids[-1], "last": window.last_id}
        if bulk_ids[-1] - window.first_id < PG_ID_RANGE:
            return [row._mapping for row in conn.execute(_PG_UPTO_ID, {**params, **ids})]
        found = conn.execute(upto_ids, {**params, **ids}).all()
        return [row._mapping for row in found if row.key is not None]
    upto = rows[-1].key if len(rows) >= limit else KEY_MAX  # fewer: no bound known
    return [row._mapping for row in conn.execute(upto_key, {**params, "upto": upto})]


# How often each 2- and 3-character substring (from a key's second character on, as contains
# matches use them) occurs among every PG_SAMPLE-th row of a generation: bigrams of the key
# and trigrams of its index_key_word(), as the GIN indexes see them. ``_pg_contains`` takes
# its query's rarest gram's count as an estimate of the candidates before choosing a path.
PG_SAMPLE = 50
_CLEAR_OTHER_COUNTS = text(
    "DELETE FROM ix_trgm_counts WHERE ecosystem = :eco AND gen <> "
    "coalesce((SELECT gen FROM index_state WHERE ecosystem = :eco), -1)"
)
_PG_COUNT_GRAMS = text(
    "INSERT INTO ix_trgm_counts (ecosystem, gen, gram, n) "
    "SELECT CAST(:eco AS VARCHAR(16)), :gen, g.gram, count(*) FROM index_entries e "
    "CROSS JOIN LATERAL (SELECT index_key_word(e.key) AS word) k "
    "CROSS JOIN generate_series(2, 3) AS w(w) "
    "CROSS JOIN generate_series(2, length(e.key) - w + 1) AS i(i) "
    "CROSS JOIN LATERAL (SELECT substr(CASE w WHEN 3 THEN k.word ELSE e.key END, i, w) AS gram) g "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND e.id % :sample = 0 GROUP BY g.gram"
)
# A bulk insert leaves rows in each GIN index's pending list, which every search scans in full
# until a VACUUM merges it, and the planner needs the new generation's statistics.
_PG_GIN_INDEXES = ("ix_trgm_word_index_entries_key", "ix_trgm_bigram_index_entries_key")
# The BRIN index over ids summarizes no page range written since its last summary (such a
# range matches every id range), and a range rewritten by a later load keeps the ids of the
# rows it held before too: every range is summarized afresh (a scan of the table, seconds).
_PG_BRIN = "ix_trgm_brin_index_entries_id"
_PG_DESUMMARIZE = text(
    "SELECT count(*) FROM (SELECT brin_desummarize_range(CAST(:index AS regclass), b) "
    "FROM generate_series(0, pg_relation_size(CAST('index_entries' AS regclass)) "
    "/ current_setting('block_size')::int, 16) AS b) d"
)
_PG_SUMMARIZE = text("SELECT brin_summarize_new_values(CAST(:index AS regclass))")


def pg_prepare(conn: Connection, ecosystem: str, gen: int) -> None:
    """Ready generation ``gen`` for search: count its grams, merge pending lists, summarize
    the id ranges, analyze."""
    params = {"eco": ecosystem, "gen": gen, "sample": PG_SAMPLE}
    conn.execute(_CLEAR_OTHER_COUNTS, params)  # any but the serving generation's
    conn.execute(_PG_COUNT_GRAMS, params)
    conn.execute(text("ANALYZE ix_trgm_counts"))  # or its lookup filters instead of seeking
    for index in _PG_GIN_INDEXES:
        conn.execute(
            text("SELECT gin_clean_pending_list(CAST(:index AS regclass))"), {"index": index}
        )
    conn.execute(_PG_DESUMMARIZE, {"index": _PG_BRIN})
    conn.execute(_PG_SUMMARIZE, {"index": _PG_BRIN})
    # Columns only: statistics on the index expressions would evaluate index_key_bigrams()
    # for every sampled row (about 20 s), and the search estimates from its own counts.
    conn.execute(text("ANALYZE index_entries (ecosystem, gen, key, id, no, bpos)"))
    conn.commit()


# strpos() alone: for a 1-character key no GIN index helps, so walk the key index in order
# and stop at :limit (a 1-character substring is in most keys, so the walk is short).
_PG_SCAN = text(
    "SELECT e.no, e.name, e.version, e.key, e.popularity FROM index_entries e "
    "WHERE e.ecosystem = :eco AND e.gen = :gen AND strpos(e.key, :key) > 1 "
    "ORDER BY e.key LIMIT :limit"
)


def _pg_scan(conn: Connection, params: dict[str, object]) -> list[RowMapping]:
    return [row._mapping for row in conn.execute(_PG_SCAN, params)]
