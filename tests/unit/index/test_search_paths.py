"""Substring search gives the same hits on every path each backend can take.

PostgreSQL walks id buckets in key order for dense substrings, and falls back to a capped GIN
scan bounded by id range or by key; the thresholds are set per case to force each path. The
loaded rows' ids are spread over many buckets there (as in a large index), so walks cross
bucket boundaries and run out of budget. Expected hits come from a plain Python scan.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from pkgdex.index import grams, jobs, queries
from pkgdex.index import search as search_backends

NAMES = [
    *(f"{prefix}-json-{i}" for i in range(7) for prefix in ("zz", "aa", "@mm/x", "kk")),
    *(f"pkg{i}-addon-x" for i in range(9)),
    *("a_b-json", "a7b-json", "a%b", "axb", "json", "json-schema", "x.js", "osx", "ab-c", "ab7c"),
    *("q%q-json-schema", "json-schemas-x", "json-sch", "jsonxschema", "schema-json"),
]
LATE = ["ab-json", "zz-addon-late", "a_bz"]  # added one at a time after the load
DOWNLOADS = {name: (i * 7919) % 1000 + 1 for i, name in enumerate(NAMES)}  # a month, in no order
QUERIES = ["json", "js", "-json", "-addon-", "on-", "a_b", "a%", "b-c", "sx", "qq", "n-"]
# Long enough that a pattern of some of their trigrams lets through keys strpos() must drop.
QUERIES += ["json-sch", "%q-json", "addon-x", "on-schema"]
SPREAD = 20_000  # PostgreSQL: the i-th loaded row gets id i * SPREAD, one bucket per 3 rows
# Each set of thresholds sends PostgreSQL's substring search down another path.
PATHS = [
    {},
    {"PG_DENSE": -1},
    {"PG_VERY_DENSE": -1},
    {"PG_VERY_DENSE": -1, "PG_PREFIX_IDS": 3 * SPREAD},
    {"PG_DENSE": 10**9},
    {"PG_DENSE": 10**9, "PG_TRIGRAM_CAP": 4},
    {"PG_DENSE": 10**9, "PG_TRIGRAM_CAP": 4, "PG_SHORT_WALK": 1},
    {"PG_DENSE": 10**9, "PG_TRIGRAM_CAP": 4, "PG_SHORT_WALK": 1, "PG_LONG_WALK": 3},
    {"PG_DENSE": 10**9, "PG_TRIGRAM_CAP": 4, "PG_SHORT_WALK": 1, "PG_LONG_WALK": 4},
    {"PG_DENSE": -1, "PG_LONG_WALK": 2},
    {"PG_DENSE": -1, "PG_LONG_WALK": 0, "PG_TRIGRAM_CAP": 4},
    {"PG_DENSE": -1, "PG_LONG_WALK": 0, "PG_TRIGRAM_CAP": 4, "PG_ID_RANGE": 10**9},
    # Estimates past PG_EVERY: a capped scan, then a read bounded by ids (BRIN), or by key.
    {"PG_EVERY": -1},
    {"PG_EVERY": -1, "PG_TRIGRAM_CAP": 4},
    {"PG_EVERY": -1, "PG_TRIGRAM_CAP": 4, "PG_ID_RANGE": 0},
    # The GIN pattern holds the rarest trigram alone.
    {"PG_GRAM_BUDGET": 0},
    {"PG_GRAM_BUDGET": 0, "PG_DENSE": -1},
    {"PG_GRAM_BUDGET": 0, "PG_DENSE": 10**9, "PG_TRIGRAM_CAP": 4},
]


def expected(q: str, limit: int) -> list[tuple[str, int]]:
    """Exact, then prefix, then contains; each by key, then name (npm keys are lowercase)."""
    ranked = []
    for name in [*NAMES, *LATE]:
        key, sub = name.lower(), q.lower()
        at = key.find(sub)
        if at >= 0:
            ranked.append((0 if key == sub else 1 if at == 0 else 2, key, name))
    return [(name, rank) for rank, _, name in sorted(ranked)][:limit]


def spread_ids(engine: Engine) -> None:
    """Give the loaded rows ids far apart, in the same order, as a large load would."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE index_entries SET id = id * :k"), {"k": SPREAD})
        conn.execute(
            text("UPDATE index_state SET first_id = first_id * :k, last_id = last_id * :k"),
            {"k": SPREAD},
        )
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('index_entries', 'id'), max(id)) "
                "FROM index_entries"
            )
        )


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    listing = tmp_path / "npm.tsv"
    rows = "".join(f"{name}\t1.0\t{DOWNLOADS[name]}\n" for name in NAMES)
    listing.write_text("name\tversion\tdownloads_a_month\n" + rows)
    jobs.load_index(engine, "npm", str(listing))
    if engine.dialect.name == "postgresql":
        spread_ids(engine)
    for name in LATE:
        jobs.record_seen(engine, "npm", name, "1.0", None)
    return engine


@pytest.mark.parametrize("thresholds", PATHS)
def test_every_search_path_gives_the_same_hits(
    loaded: Engine, monkeypatch: pytest.MonkeyPatch, thresholds: dict[str, int]
) -> None:
    for name, value in thresholds.items():
        monkeypatch.setattr(grams if name == "PG_GRAM_BUDGET" else search_backends, name, value)
    with loaded.connect() as conn:
        for q in QUERIES:
            for limit in (1, 3, 50):
                hits = queries.search(conn, "npm", q, limit)
                assert [(hit.name, hit.rank) for hit in hits] == expected(q, limit), (q, limit)
                assert_popularity_read_with_the_hits(conn, q, limit, hits)


def assert_popularity_read_with_the_hits(
    conn: Connection, q: str, limit: int, hits: list[queries.SearchHit]
) -> None:
    """``search_by_popularity``: the same hits, each with the popularity the index holds."""
    ranked = queries.search_by_popularity(conn, "npm", q, limit)
    assert [hit for hit, _ in ranked] == hits
    details = queries.package_details(conn, "npm", [hit.name for hit in hits])
    assert [downloads for _, downloads in ranked] == [details[hit.name].popularity for hit in hits]


def test_a_load_leaves_every_id_range_summarized(engine: Engine, tmp_path: Path) -> None:
    """An unsummarized BRIN range matches any id range: a bounded read would read it all."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL BRIN index")
    listing = tmp_path / "npm.tsv"
    listing.write_text("name\tversion\n" + "".join(f"n{i}-json\t1.0\n" for i in range(3000)))
    summarize = text("SELECT brin_summarize_new_values('ix_trgm_brin_index_entries_id')")
    for _ in range(2):  # the second load writes into pages the first one freed
        jobs.load_index(engine, "npm", str(listing))
        with engine.begin() as conn:
            assert conn.execute(summarize).scalar_one() == 0


def test_search_leaves_the_planner_settings_as_they_were(loaded: Engine) -> None:
    if loaded.dialect.name != "postgresql":
        pytest.skip("PostgreSQL planner settings")
    show = text(
        "SELECT current_setting('enable_indexscan'), current_setting('jit'), "
        "current_setting('max_parallel_workers_per_gather')"
    )
    with loaded.connect() as conn:
        before = conn.execute(show).one()
        queries.search(conn, "npm", "json", 3)
        queries.search(conn, "npm", "js", 3)
        assert conn.execute(show).one() == before


@pytest.mark.parametrize("thresholds", PATHS[:3])
def test_search_in_autocommit_gives_the_same_hits(
    loaded: Engine, monkeypatch: pytest.MonkeyPatch, thresholds: dict[str, int]
) -> None:
    """Each statement is its own transaction there: the planner settings must still hold."""
    for name, value in thresholds.items():
        monkeypatch.setattr(search_backends, name, value)
    postgres = loaded.dialect.name == "postgresql"
    show = text("SELECT current_setting('enable_indexscan'), current_setting('jit')")
    with loaded.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        before = conn.execute(show).one() if postgres else None
        for q in QUERIES:
            hits = queries.search(conn, "npm", q, 3)
            assert [(hit.name, hit.rank) for hit in hits] == expected(q, 3), q
        assert (conn.execute(show).one() if postgres else None) == before


def like(pattern: str) -> re.Pattern[str]:
    """A LIKE pattern with ``\\`` as its escape character, as a regular expression."""
    parts = re.findall(r"\\.|%|_|[^%_\\]", pattern)
    mapped = {"%": ".*", "_": "."}
    return re.compile("".join(mapped.get(p) or re.escape(p[-1]) for p in parts), re.DOTALL)


def test_the_gin_pattern_holds_every_key_containing_the_query() -> None:
    """Whatever trigrams the counts leave in, no key holding the word is left out."""
    rng = random.Random(5)
    for _ in range(2000):
        word = "".join(rng.choice("ab7%\\c") for _ in range(rng.randint(3, 10)))
        counts = {word[i : i + 3]: rng.choice([0, 1, 50, 3000, 9000]) for i in range(len(word))}
        pattern = like(grams.word_pattern(word, counts, 50))
        for _ in range(3):
            around = ["".join(rng.choice("ab7%c") for _ in range(rng.randint(0, 4))) for _ in "xy"]
            assert pattern.fullmatch(around[0] + word + around[1]), (word, counts)


def test_the_gin_pattern_leaves_out_common_trigrams() -> None:
    """A query's common trigrams cost GIN more than they narrow its candidates."""
    counts = {"n7c": 2078, "7co": 26814, "cor": 23814, "ore": 24068, "re7": 2108}
    counts |= {"e7n": 2782, "7ng": 22391}
    assert grams.word_pattern("n7core7ng", counts, 50) == "%n7c%re7n%"
    rare = dict.fromkeys(counts, 10)
    assert grams.word_pattern("n7core7ng", rare, 50) == "%n7core7ng%"
    # Of two trigrams one character apart, with the one between them left out, the commoner
    # one goes: LIKE could not find them overlapping.
    apart = {"abc": 1, "bcd": 10**6, "cde": 2}
    assert grams.word_pattern("abcde", apart, 50) == "%abc%"


def test_sqlite_matches_only_a_querys_rarer_trigrams(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FTS5 ANDs the trigrams it is given: the common ones ("cor" of "-core") are left to
    instr(), which drops the keys the rarer ones let through."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's FTS5 search")
    monkeypatch.setattr(search_backends, "SQLITE_SAMPLE", 1)  # count every row
    monkeypatch.setattr(grams, "PG_GRAM_BUDGET", 3)
    names = [f"x{i}-core" for i in range(20)] + ["n-core-ng", "an-core-ngx", "zn-cxre-ng"]
    listing = tmp_path / "npm.tsv"
    listing.write_text("name\tversion\n" + "".join(f"{name}\t1.0\n" for name in names))
    jobs.load_index(engine, "npm", str(listing))
    with engine.connect() as conn:
        gen = conn.execute(text("SELECT gen FROM index_state WHERE ecosystem = 'npm'")).scalar()
        assert gen is not None
        match = search_backends._match_expression(conn, "npm", gen, "n-core-ng")
        assert match is not None and '"n-c"' in match and '"cor"' not in match
        hits = queries.search(conn, "npm", "n-core-ng", 50)
    assert [(hit.name, hit.rank) for hit in hits] == [("n-core-ng", 0), ("an-core-ngx", 2)]
