"""DuckDB aggregation of download-log exports against the independent reference."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pkgdex.downloads import ingest
from support.download_rows import (
    ALL,
    expected_stats,
    generate_rows,
    make_row,
    write_ndjson,
    write_parquet,
)

DAY = date(2026, 9, 1)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    path = ingest.scratch_directory(str(tmp_path))
    yield path
    ingest.remove_scratch(path)


def aggregate(files: list[Path], scratch: Path) -> ingest.Aggregation:
    return ingest.aggregate_files(files, scratch)


def daily(aggregation: ingest.Aggregation) -> dict[tuple[Any, ...], int]:
    rows = [row for batch in aggregation.daily_rows(batch=100) for row in batch]
    assert rows == sorted(rows), "primary-key order"
    result = {
        (package, kind, date.fromisoformat(day), category, bool(ci)): n
        for package, kind, day, category, ci, n in rows
    }
    assert len(result) == len(rows), "one row per key"
    assert all(count > 0 for count in result.values()), "no zero rows"
    aggregation.connection.close()
    return result


def without_all(expected: dict[tuple[Any, ...], int]) -> dict[tuple[Any, ...], int]:
    return {key: n for key, n in expected.items() if key[0] != ALL}


@pytest.mark.parametrize("layout", ["ndjson.gz", "ndjson", "split", "parquet"])
def test_every_format_matches_the_reference(tmp_path: Path, scratch: Path, layout: str) -> None:
    rows = generate_rows(days=6, rows_per_day=250)
    expected = expected_stats(rows)
    if layout == "split":  # one day's rows spread over a gzip and a plain file
        files = [
            write_ndjson(rows[: len(rows) // 2], tmp_path / "a.jsonl.gz"),
            write_ndjson(rows[len(rows) // 2 :], tmp_path / "b.json"),
        ]
    elif layout == "parquet":
        files = [write_parquet(rows, tmp_path / "rows.parquet")]
    else:
        files = [write_ndjson(rows, tmp_path / f"rows.{layout}")]
    aggregation = aggregate(files, scratch)
    assert aggregation.days == expected.days
    assert aggregation.rows_read == dict(expected.rows_read)
    assert aggregation.rejected == {day: dict(c) for day, c in expected.rejected.items()}
    assert daily(aggregation) == expected.daily


def one_day(scratch: Path, tmp_path: Path, *rows: dict[str, Any]) -> dict[tuple[Any, ...], int]:
    path = write_ndjson(rows, tmp_path / "rows.ndjson")
    return without_all(daily(aggregate([path], scratch)))


def test_mirrors_count_only_with_mirrors(tmp_path: Path, scratch: Path) -> None:
    rows = [make_row("pkg", DAY, installer=name) for name in ("bandersnatch", "devpi", None)]
    got = one_day(scratch, tmp_path, *rows, make_row("pkg", DAY, installer="pip"))
    assert got[("pkg", "overall", DAY, "with_mirrors", False)] == 4
    assert got[("pkg", "overall", DAY, "without_mirrors", False)] == 1
    assert got[("pkg", "installer", DAY, "pip", False)] == 1
    assert not any(key[1] == "installer" and key[3] != "pip" for key in got)


def test_python_categories_follow_pypistats(tmp_path: Path, scratch: Path) -> None:
    versions = ("3.12.1", "3.100.2", "2.7", "3.13.0rc1", None)
    got = one_day(scratch, tmp_path, *(make_row("pkg", DAY, python=v) for v in versions))
    minor = {key[3]: n for key, n in got.items() if key[1] == "python_minor"}
    major = {key[3]: n for key, n in got.items() if key[1] == "python_major"}
    assert minor == {"3.12": 1, "2.7": 1, "3.13": 1, "null": 1}  # "3.100" is dropped
    assert major == {"3": 3, "2": 1, "null": 1}


def test_systems_ci_versions_and_names(tmp_path: Path, scratch: Path) -> None:
    rows = [
        make_row("Zope_Interface", DAY, system="Windows", ci=True, version=None),
        make_row("zope.interface", DAY, system="FreeBSD", ci=None),
        make_row(None, DAY, file_project="ZOPE-interface", system="", ci=False),
        make_row("zope-interface", DAY, system=None, ci=False),
    ]
    got = one_day(scratch, tmp_path, *rows)
    systems = {(key[3], key[4]): n for key, n in got.items() if key[1] == "system"}
    assert systems == {("Windows", True): 1, ("other", False): 2, ("null", False): 1}
    versions = {(key[3], key[4]): n for key, n in got.items() if key[1] == "version"}
    assert versions == {("null", True): 1, ("1.0.0", False): 3}
    assert {key[0] for key in got} == {"zope-interface"}


def test_malformed_python_and_missing_fields_are_rejected(
    tmp_path: Path, scratch: Path
) -> None:
    rows = [
        make_row("pkg", DAY, python=" 3.8"),
        make_row("pkg", DAY, python="10.1"),
        make_row("pkg", DAY, python=""),
        make_row(None, DAY, file_project=None),
        {"project": "pkg", "file": {}, "details": {}},
        {"timestamp": "yesterday", "project": "pkg"},
        make_row("pkg", DAY),
    ]
    path = write_ndjson(rows, tmp_path / "rows.ndjson")
    aggregation = aggregate([path], scratch)
    assert aggregation.rejected == {
        DAY: {"invalid_python": 3, "missing_project": 1},
        None: {"missing_timestamp": 1, "invalid_timestamp": 1},
    }
    assert aggregation.rows_read == {DAY: 5, None: 2}
    assert daily(aggregation)[("pkg", "overall", DAY, "with_mirrors", False)] == 1


def test_a_day_with_only_rejected_rows_is_not_a_day_to_write(
    tmp_path: Path, scratch: Path
) -> None:
    path = write_ndjson(
        [make_row("pkg", DAY, python="x"), make_row("pkg", date(2026, 9, 2))],
        tmp_path / "rows.ndjson",
    )
    aggregation = aggregate([path], scratch)
    assert aggregation.days == [date(2026, 9, 2)]
    aggregation.connection.close()


def test_inputs_expand_from_directories_and_globs(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.ndjson.gz", "sub/b.jsonl", "sub/c.parquet", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    found = ingest.expand_inputs([str(tmp_path)])
    assert [p.name for p in found] == ["a.ndjson.gz", "b.jsonl", "c.parquet"]
    globbed = ingest.expand_inputs([str(tmp_path / "sub" / "*.jsonl")])
    assert [p.name for p in globbed] == ["b.jsonl"]
    with pytest.raises(ingest.IngestError, match=r"notes\.txt"):
        ingest.expand_inputs([str(tmp_path / "notes.txt")])
    with pytest.raises(ingest.IngestError, match="no such file"):
        ingest.expand_inputs([str(tmp_path / "missing.ndjson")])
    with pytest.raises(ingest.IngestError, match="no input files"):
        ingest.expand_inputs([str(tmp_path / "*.csv")])


def test_large_random_sample_matches_the_reference(tmp_path: Path, scratch: Path) -> None:
    seed = random.Random(7).randrange(10**6)
    rows = generate_rows(seed=seed, days=3, rows_per_day=2000)
    path = write_ndjson(rows, tmp_path / "rows.ndjson.gz")
    assert daily(aggregate([path], scratch)) == expected_stats(rows).daily


def test_progress_reaches_one_and_never_goes_back(tmp_path: Path, scratch: Path) -> None:
    rows = generate_rows(days=2, rows_per_day=100)
    files = [
        write_ndjson(rows[:100], tmp_path / "a.ndjson.gz"),
        write_parquet(rows[100:], tmp_path / "b.parquet"),
    ]
    seen: list[float] = []
    aggregation = ingest.aggregate_files(files, scratch, on_progress=seen.append)
    aggregation.connection.close()
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert 0.5 in seen  # the NDJSON half is done before the Parquet half starts
