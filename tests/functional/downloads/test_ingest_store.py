"""Ingest into SQLite and PostgreSQL: stored numbers, replace-a-day, atomicity, retention."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from conftest import ClientFactory
from pkgdex.downloads import jobs
from pkgdex.downloads.models import downloads_daily, downloads_ledger, downloads_recent
from support.download_rows import Expected, expected_stats, generate_rows, make_row, write_ndjson

START = date(2026, 9, 1)


def stored(engine: Engine) -> dict[tuple[Any, ...], int]:
    with engine.connect() as conn:
        return {tuple(row[:5]): row[5] for row in conn.execute(select(downloads_daily))}


def recent(engine: Engine) -> dict[tuple[str, bool], tuple[int, int, int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(downloads_recent))
        return {(r.package, r.ci): (r.last_day, r.last_week, r.last_month) for r in rows}


def ledger(engine: Engine) -> dict[date, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(downloads_ledger)).mappings()
        return {row["date"]: dict(row) for row in rows}


def ingest(engine: Engine, tmp_path: Path, rows: list[dict[str, Any]], name: str) -> Any:
    path = write_ndjson(rows, tmp_path / name)
    return jobs.ingest_files(engine, [str(path)])


def test_a_nul_is_never_stored_and_the_day_still_ingests(engine: Engine, tmp_path: Path) -> None:
    # No PostgreSQL text column holds one: such a row failed the whole day's ingest there.
    rows = [
        make_row("pkg", START, installer="pi\x00p"),
        make_row("pkg", START, version="1.0\x00"),
        make_row("p\x00kg", START),
        make_row("pkg", START),
    ]
    expected = expected_stats(rows)
    ingest(engine, tmp_path, rows, "rows.ndjson")
    assert stored(engine) == expected.daily
    assert not any("\x00" in str(key) for key in expected.daily)
    assert expected.rejected[START] == {"package_name_has_nul": 1}
    assert json.loads(ledger(engine)[START]["rejected_reasons"]) == {"package_name_has_nul": 1}
    assert expected.daily[("pkg", "overall", START, "without_mirrors", False)] == 3


def test_ingest_stores_the_reference_numbers(engine: Engine, tmp_path: Path) -> None:
    rows = generate_rows(days=9, rows_per_day=200)
    expected = expected_stats(rows)
    report = ingest(engine, tmp_path, rows, "rows.ndjson.gz")
    assert report.days == expected.days
    assert stored(engine) == expected.daily
    assert recent(engine) == expected.recent
    entries = ledger(engine)
    assert sorted(entries) == expected.days
    first = entries[START]  # rows without a usable date are charged to the earliest day
    assert first["rows_read"] == expected.rows_read[START] + expected.rows_read[None]
    reasons = dict(expected.rejected[START]) | dict(expected.rejected[None])
    assert json.loads(first["rejected_reasons"]) == reasons
    assert first["rows_rejected"] == sum(reasons.values())
    assert not first["synthetic"] and first["finished_at"] is not None
    assert sum(e["rows_read"] for e in entries.values()) == len(rows)
    assert report.rows_read == len(rows)


def test_reingesting_a_day_replaces_only_that_day(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, tmp_path, generate_rows(days=4, rows_per_day=100), "first.ndjson")
    before = stored(engine)
    second = START + timedelta(days=1)
    again = [make_row("numpy", second, installer="uv")] * 3
    ingest(engine, tmp_path, again, "again.ndjson")
    after = stored(engine)
    assert {k: n for k, n in after.items() if k[2] != second} == {
        k: n for k, n in before.items() if k[2] != second
    }
    replaced = expected_stats(again).daily
    assert {k: n for k, n in after.items() if k[2] == second} == replaced
    assert ledger(engine)[second]["rows_read"] == 3
    assert ledger(engine)[second]["source"].endswith("again.ndjson")


def test_a_failed_ingest_leaves_ingested_days_intact(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, tmp_path, generate_rows(days=3, rows_per_day=100), "first.ndjson")
    before, before_ledger, before_recent = stored(engine), ledger(engine), recent(engine)
    newer = write_ndjson(
        [make_row("numpy", START), make_row("numpy", date(2026, 9, 20))], tmp_path / "n.json"
    )
    whole = write_ndjson(generate_rows(days=1), tmp_path / "whole.ndjson.gz")
    cut = tmp_path / "cut.ndjson.gz"
    cut.write_bytes(whole.read_bytes()[:-40])
    with pytest.raises(jobs.IngestError, match=r"cut\.ndjson\.gz"):
        jobs.ingest_files(engine, [str(newer), str(cut)])
    assert stored(engine) == before
    assert ledger(engine) == before_ledger
    assert recent(engine) == before_recent


def test_input_without_usable_rows_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, tmp_path, generate_rows(days=2, rows_per_day=50), "first.ndjson")
    before = stored(engine)
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    with pytest.raises(jobs.IngestError, match=r"no usable rows.*empty\.ndjson: no rows"):
        jobs.ingest_files(engine, [str(empty)])
    rejected_only = [make_row("numpy", START, python="garbage")]
    with pytest.raises(jobs.IngestError, match="no usable rows"):
        ingest(engine, tmp_path, rejected_only, "bad.ndjson")
    assert stored(engine) == before


def test_a_day_whose_rows_are_all_rejected_is_left_as_it_was(
    engine: Engine, tmp_path: Path
) -> None:
    ingest(engine, tmp_path, generate_rows(days=2, rows_per_day=50), "first.ndjson")
    before = stored(engine)
    next_day = START + timedelta(days=2)
    rows = [make_row("numpy", START, python="garbage"), make_row("numpy", next_day)]
    report = ingest(engine, tmp_path, rows, "mixed.ndjson")
    assert report.days == [next_day] and report.skipped_days == [START]
    assert {k: n for k, n in stored(engine).items() if k[2] != next_day} == before


def test_retention_keeps_the_newest_days(engine: Engine, tmp_path: Path) -> None:
    rows = generate_rows(days=6, rows_per_day=60)
    path = write_ndjson(rows, tmp_path / "rows.ndjson")
    jobs.ingest_files(engine, [str(path)], retention_days=3)
    kept = [START + timedelta(days=n) for n in (3, 4, 5)]
    assert sorted({key[2] for key in stored(engine)}) == kept
    assert sorted(ledger(engine)) == kept
    expected = expected_stats(rows).daily
    week = sum(
        n for (p, b, d, c, ci), n in expected.items()
        if (p, b, c, ci) == ("__all__", "overall", "without_mirrors", False) and d in kept
    )
    assert recent(engine)[("__all__", False)][1] == week  # the week over the days kept


def test_ingested_numbers_are_served(
    engine: Engine, tmp_path: Path, make_client: ClientFactory
) -> None:
    rows = generate_rows(days=8, rows_per_day=150)
    expected: Expected = expected_stats(rows)
    ingest(engine, tmp_path, rows, "rows.ndjson.gz")
    client = make_client()
    body = client.get("/api/packages/Zope.Interface/recent").json()
    day, week, month = expected.recent_for("zope-interface")
    assert body["data"] == {"last_day": day, "last_week": week, "last_month": month}
    overall = client.get("/api/packages/numpy/overall?mirrors=false").json()["data"]
    series = expected.series("numpy", "overall")
    assert {(r["date"], r["downloads"]) for r in overall} == {
        (d.isoformat(), n) for (c, d), n in series.items() if c == "without_mirrors" and n
    }


def test_awkward_category_text_survives_the_bulk_load(engine: Engine, tmp_path: Path) -> None:
    versions = ["1.0\t2", "back\\slash", "line\nbreak", "ünï\u2603", "quote\"'", "\\N"]
    rows = [make_row("odd-pkg", START, version=v, installer="pip") for v in versions]
    ingest(engine, tmp_path, rows, "odd.ndjson")
    stored_versions = {k[3] for k in stored(engine) if k[:2] == ("odd-pkg", "version")}
    assert stored_versions == set(versions)
    assert stored(engine) == expected_stats(rows).daily
