"""Loading the name index on each backend: numbering, atomic swaps, bad input, search order."""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, text

from pkgdex.index import jobs, queries, services
from pkgdex.index import search as search_backends
from pkgdex.index.sources import SourceError

HEADER = "name\tversion\tmonth\trank_among_15000_most_downloaded\tsummary"


def listing(tmp_path: Path, names: Sequence[str], *, extra: str = "", gz: bool = False) -> str:
    """A PyPI-shaped TSV of ``names`` (version 1.<i>), plus raw ``extra`` lines."""
    rows = [
        f"{name}\t1.{i}\t2024-0{1 + i % 9}\t{i + 1}\tabout {name}" for i, name in enumerate(names)
    ]
    data = "\n".join([HEADER, *rows]) + "\n" + extra
    path = tmp_path / f"listing-{len(list(tmp_path.iterdir()))}.tsv{'.gz' if gz else ''}"
    path.write_bytes(gzip.compress(data.encode()) if gz else data.encode())
    return str(path)


def search(
    engine: Engine, q: str, limit: int = 100, ecosystem: str = "pypi"
) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [(hit.name, hit.rank) for hit in queries.search(conn, ecosystem, q, limit)]


def numbers(engine: Engine, ecosystem: str = "pypi") -> dict[str, int]:
    with engine.connect() as conn:
        return {row.name: row.no for row in queries.browse(conn, ecosystem, 1, 500)}


def status(engine: Engine, ecosystem: str = "pypi") -> queries.IndexStatus:
    with engine.connect() as conn:
        return queries.index_status(conn, ecosystem)


def test_load_reports_and_serves_the_names(engine: Engine, tmp_path: Path) -> None:
    report = jobs.load_index(engine, "pypi", listing(tmp_path, ["requests", "flask"], gz=True))
    assert (report.format, report.loaded, report.added, report.removed) == ("tsv", 2, 2, 0)
    assert report.bad_rows == 0 and report.seconds >= 0
    state = status(engine)
    assert state.loaded and state.total == 2 and state.last_updated is not None
    with engine.connect() as conn:
        rows = queries.browse(conn, "pypi", 1, 10)
        details = queries.package_details(conn, "pypi", ["Requests", "nope"])
    assert [(r.no, r.name, r.version, r.url) for r in rows] == [
        (1, "requests", "1.0", "https://pypi.org/project/requests/"),
        (2, "flask", "1.1", "https://pypi.org/project/flask/"),
    ]
    assert details == {
        "Requests": queries.PackageDetails("requests", "1.0", "about requests", 1, "2024-01")
    }


def test_nothing_is_served_before_the_first_load(engine: Engine) -> None:
    assert status(engine) == queries.IndexStatus(total=0, last_updated=None, loaded=False)
    assert search(engine, "anything") == []
    with engine.connect() as conn:
        assert queries.browse(conn, "npm", 1, 10) == []


def test_numbers_are_stable_across_loads(engine: Engine, tmp_path: Path) -> None:
    jobs.load_index(engine, "pypi", listing(tmp_path, ["alpha", "beta", "gamma"]))
    first = numbers(engine)
    report = jobs.load_index(engine, "pypi", listing(tmp_path, ["delta", "gamma", "alpha"]))
    assert (report.added, report.removed) == (1, 1)
    assert numbers(engine) == {"alpha": first["alpha"], "gamma": first["gamma"], "delta": 4}
    assert search(engine, "beta") == []
    jobs.load_index(engine, "pypi", listing(tmp_path, ["beta", "epsilon", "alpha"]))
    assert numbers(engine) == {"alpha": 1, "beta": 2, "epsilon": 5}


def test_browse_pages_have_no_holes_after_removals(engine: Engine, tmp_path: Path) -> None:
    names = [f"pkg{i:03d}" for i in range(30)]
    jobs.load_index(engine, "pypi", listing(tmp_path, names))
    jobs.load_index(engine, "pypi", listing(tmp_path, names[::3]))
    with engine.connect() as conn:
        pages = [queries.browse(conn, "pypi", page, 4) for page in (1, 2, 3, 4)]
    assert [[r.no for r in page] for page in pages] == [
        [1, 4, 7, 10],
        [13, 16, 19, 22],
        [25, 28],
        [],
    ]


def test_search_ranks_and_orders_by_key(engine: Engine, tmp_path: Path) -> None:
    names = ["xtest", "test", "Test-Utils", "test_a", "attest", "latest", "tes"]
    jobs.load_index(engine, "pypi", listing(tmp_path, names))
    assert search(engine, "TEST") == [
        ("test", 0),
        ("test_a", 1),
        ("Test-Utils", 1),
        ("attest", 2),
        ("latest", 2),
        ("xtest", 2),
    ]
    assert search(engine, "test", limit=3) == [("test", 0), ("test_a", 1), ("Test-Utils", 1)]
    contains = ["attest", "latest", "tes", "test", "test_a", "Test-Utils", "xtest"]
    assert search(engine, "es") == [(name, 2) for name in contains]


def test_dense_substrings_give_the_same_first_hits(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"{prefix}-json-{i}" for i in range(6) for prefix in ("zz", "aa", "mm")]
    jobs.load_index(engine, "npm", listing(tmp_path, names))
    expected = [(name, 2) for name in sorted(names)[:5]]
    assert search(engine, "json", limit=5, ecosystem="npm") == expected
    monkeypatch.setattr(search_backends, "PG_TRIGRAM_CAP", 4)  # PostgreSQL's capped path
    assert search(engine, "json", limit=5, ecosystem="npm") == expected
    assert search(engine, "json", limit=50, ecosystem="npm") == [(n, 2) for n in sorted(names)]


# Each set of thresholds sends PostgreSQL's substring search down another path: the ordered
# walk, the GIN probe alone, the probe bounded by id range, by key, and a walk that runs out.
SEARCH_PATHS = [
    {"PG_DENSE": -1},
    {"PG_DENSE": 10**9},
    {"PG_DENSE": 10**9, "PG_TRIGRAM_CAP": 4},
    {"PG_DENSE": 10**9, "PG_TRIGRAM_CAP": 4, "PG_ID_RANGE": 0},
    {"PG_DENSE": -1, "PG_LONG_WALK": 3, "PG_TRIGRAM_CAP": 4},
]


@pytest.mark.parametrize("thresholds", SEARCH_PATHS)
def test_every_substring_search_path_gives_the_same_hits(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, thresholds: dict[str, int]
) -> None:
    names = [f"{prefix}-json-{i}" for i in range(6) for prefix in ("zz", "aa", "mm")]
    jobs.load_index(engine, "npm", listing(tmp_path, [*names, "other", "osx"]))
    jobs.record_seen(engine, "npm", "ab-json", None, None)  # after the load, first in key order
    for name, value in thresholds.items():
        monkeypatch.setattr(search_backends, name, value)
    expected = sorted([*names, "ab-json"])
    for q in ("json", "js", "-json"):
        hits = [(name, 2) for name in expected]
        assert search(engine, q, limit=3, ecosystem="npm") == hits[:3]
        assert search(engine, q, limit=50, ecosystem="npm") == hits
    assert search(engine, "sx", ecosystem="npm") == [("osx", 2)]
    assert search(engine, "qq", ecosystem="npm") == []


def test_two_character_queries_find_names_ending_with_them(engine: Engine, tmp_path: Path) -> None:
    jobs.load_index(engine, "npm", listing(tmp_path, ["qz", "abqz", "qzab", "aqzb", "other"]))
    assert search(engine, "qz", ecosystem="npm") == [
        ("qz", 0),
        ("qzab", 1),
        ("abqz", 2),
        ("aqzb", 2),
    ]
    assert search(engine, "zz", ecosystem="npm") == []


def test_every_query_character_is_literal(engine: Engine, tmp_path: Path) -> None:
    jobs.load_index(engine, "npm", listing(tmp_path, ["a%b", "a_b", "axb", 'say"hi', "c*d"]))
    assert search(engine, "a%", ecosystem="npm") == [("a%b", 1)]
    assert search(engine, "a_", ecosystem="npm") == [("a_b", 1)]
    assert search(engine, '"hi', ecosystem="npm") == [('say"hi', 2)]
    assert search(engine, "*d", ecosystem="npm") == [("c*d", 2)]
    assert search(engine, "%%", ecosystem="npm") == []
    assert search(engine, "a\x00", ecosystem="npm") == []


def test_pypi_matches_under_pep503_normalisation(engine: Engine, tmp_path: Path) -> None:
    jobs.load_index(engine, "pypi", listing(tmp_path, ["zope.interface", "zope_proxy", "azope-x"]))
    assert search(engine, "Zope.Interface") == [("zope.interface", 0)]
    assert search(engine, "zope_") == [("zope.interface", 1), ("zope_proxy", 1), ("azope-x", 2)]
    assert search(engine, "__") == [("azope-x", 2), ("zope.interface", 2), ("zope_proxy", 2)]


def test_duplicates_and_broken_rows_are_counted_with_lines(engine: Engine, tmp_path: Path) -> None:
    extra = "Requests\t9\t2024-01\t\t\nbad name\t1\t2024-01\t\t\nshort\n"
    report = jobs.load_index(engine, "pypi", listing(tmp_path, ["requests", "flask"], extra=extra))
    assert report.loaded == 2 and report.bad_rows == 3
    assert [line for line, _ in report.bad_examples] == [4, 5, 6]
    assert "duplicate" in report.bad_examples[0][1]
    assert search(engine, "requests") == [("requests", 0)]


@pytest.mark.parametrize(
    "breakage",
    ["truncated-gzip", "wrong-header", "empty", "strict-bad-row", "only-bad-rows", "missing"],
)
def test_a_failed_load_keeps_the_previous_index(
    engine: Engine, tmp_path: Path, breakage: str
) -> None:
    jobs.load_index(engine, "pypi", listing(tmp_path, ["requests", "flask"]))
    before = (numbers(engine), search(engine, "req"), status(engine))
    bad = tmp_path / "bad"
    strict = breakage == "strict-bad-row"
    if breakage == "truncated-gzip":
        whole = Path(listing(tmp_path, [f"n{i}" for i in range(5000)], gz=True)).read_bytes()
        bad.write_bytes(whole[: len(whole) // 2])
    elif breakage == "wrong-header":
        bad.write_text("No.,Name\n1,x\n")
    elif breakage == "empty":
        bad.write_bytes(b"")
    elif breakage == "strict-bad-row":
        bad = Path(listing(tmp_path, ["django"], extra="bad name\t1\t\t\t\n"))
    elif breakage == "only-bad-rows":
        bad.write_text(HEADER + "\nbad name\t1\t\t\t\n")
    with pytest.raises(SourceError):
        jobs.load_index(engine, "pypi", str(bad), strict=strict)
    assert (numbers(engine), search(engine, "req"), status(engine)) == before
    jobs.load_index(engine, "pypi", listing(tmp_path, ["django"]))
    assert numbers(engine) == {"django": 3}


def test_a_second_load_of_the_same_index_waits_its_turn(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "LOCK_WAIT_SECONDS", 0.5)
    jobs.load_index(engine, "pypi", listing(tmp_path, ["requests"]))
    with engine.connect() as holder, services.load_lock(holder, "pypi"):
        with pytest.raises(services.LoadInProgressError, match="another load"):
            jobs.load_index(engine, "pypi", listing(tmp_path, ["flask"]))
        jobs.load_index(engine, "npm", listing(tmp_path, ["react"]))  # other ecosystem: free
    assert numbers(engine) == {"requests": 1}
    jobs.load_index(engine, "pypi", listing(tmp_path, ["flask"]))
    assert numbers(engine) == {"flask": 2}


def test_name_only_sources_keep_known_versions(engine: Engine, tmp_path: Path) -> None:
    jobs.load_index(engine, "pypi", listing(tmp_path, ["requests"]))
    names = tmp_path / "names.json"
    names.write_bytes(orjson.dumps(["requests", "newcomer"]))
    report = jobs.load_index(engine, "pypi", str(names))
    assert report.format == "json-names" and report.added == 1
    with engine.connect() as conn:
        assert [(r.name, r.version) for r in queries.browse(conn, "pypi", 1, 10)] == [
            ("requests", "1.0"),
            ("newcomer", "latest"),
        ]


def test_record_seen_adds_and_refreshes_single_names(engine: Engine, tmp_path: Path) -> None:
    jobs.load_index(engine, "npm", listing(tmp_path, ["react", "preact", "react-dom"]))
    jobs.record_seen(engine, "npm", "Reactor", "2.0.0", "new")
    jobs.record_seen(engine, "npm", "preact", "11.0.0", None)
    assert search(engine, "react", ecosystem="npm") == [
        ("react", 0),
        ("react-dom", 1),
        ("Reactor", 1),
        ("preact", 2),
    ]
    assert search(engine, "eact", ecosystem="npm") == [
        ("preact", 2),
        ("react", 2),
        ("react-dom", 2),
        ("Reactor", 2),
    ]
    with engine.connect() as conn:
        details = queries.package_details(conn, "npm", ["preact", "reactor"])
        assert queries.index_status(conn, "npm").total == 4
    assert details["preact"].version == "11.0.0" and details["preact"].summary == "about preact"
    assert details["reactor"].summary == "new"
    assert numbers(engine, "npm")["Reactor"] == 4


def test_record_seen_before_any_load_then_a_load_replaces_it(
    engine: Engine, tmp_path: Path
) -> None:
    jobs.record_seen(engine, "pypi", "Early_Bird", None, "seen by the metadata cache")
    assert search(engine, "early-bird") == [("Early_Bird", 0)]
    assert search(engine, "bird") == [("Early_Bird", 2)]
    assert not status(engine).loaded and status(engine).total == 1
    jobs.load_index(engine, "pypi", listing(tmp_path, ["requests", "early-bird"]))
    assert numbers(engine) == {"requests": 2, "early-bird": 1}
    assert search(engine, "bird") == [("early-bird", 2)]


def test_a_nul_in_a_summary_is_left_out(engine: Engine, tmp_path: Path) -> None:
    # No PostgreSQL text column holds one; the summary is only shown, the row is good.
    extra = "nul-pad\t1.0\t2024-01\t\tpads\x00 strings\n"
    report = jobs.load_index(engine, "pypi", listing(tmp_path, ["requests"], extra=extra))
    assert report.loaded == 2 and report.bad_rows == 0
    with engine.connect() as conn:
        assert queries.package_details(conn, "pypi", ["nul-pad"])["nul-pad"].summary == (
            "pads strings"
        )


def test_record_seen_keeps_only_what_the_index_holds(engine: Engine) -> None:
    # A version past the index's 200 characters (PyPI allows 255) is left out, as a load
    # leaves it; the name is still recorded.
    jobs.record_seen(engine, "pypi", "long-one", "1." + "0" * 250, "a\x00b")
    jobs.record_seen(engine, "pypi", "spaced", "1 0", None)
    with engine.connect() as conn:
        details = queries.package_details(conn, "pypi", ["long-one", "spaced"])
    assert (details["long-one"].version, details["long-one"].summary) == ("latest", "ab")
    assert details["spaced"].version == "latest"


def test_load_demo_fills_both_ecosystems(engine: Engine) -> None:
    jobs.load_demo(engine)
    assert status(engine, "pypi").total > 1000 and status(engine, "npm").total > 1000
    assert search(engine, "requests", 1) == [("requests", 0)]
    assert search(engine, "react", 1, "npm") == [("react", 0)]


def test_leftovers_of_a_killed_load_are_invisible_and_cleared(
    engine: Engine, tmp_path: Path
) -> None:
    jobs.load_index(engine, "pypi", listing(tmp_path, ["requests"]))
    # What a load killed after writing its generation but before the swap leaves behind.
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO index_entries (ecosystem, gen, key, name, no, bpos, version) "
                "VALUES ('pypi', 2, 'requests-ghost', 'requests-ghost', 99, 1, '1')"
            )
        )
    assert search(engine, "requests") == [("requests", 0)]
    jobs.load_index(engine, "pypi", listing(tmp_path, ["requests", "flask"]))
    with engine.connect() as conn:
        ghosts = conn.execute(
            text("SELECT count(*) FROM index_entries WHERE name = 'requests-ghost'")
        )
        assert ghosts.scalar_one() == 0
        generations = conn.execute(text("SELECT DISTINCT gen FROM index_entries")).scalars().all()
    assert generations == [2]
    assert search(engine, "requests") == [("requests", 0)]
