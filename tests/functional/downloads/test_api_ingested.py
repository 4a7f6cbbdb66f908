"""End to end: raw BigQuery-shaped rows go through the real ingest, and every API answers
what the independent reference computes from those same rows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from conftest import ClientFactory
from pkgdex.downloads import jobs
from support.download_rows import ALL, Expected, expected_stats, generate_rows, write_ndjson

BREAKDOWNS = ("python_major", "python_minor", "system", "installer")


@pytest.fixture
def ingested(
    make_client: ClientFactory, engine: Engine, tmp_path: Path
) -> tuple[TestClient, Expected]:
    rows = generate_rows(days=9, rows_per_day=250)
    jobs.ingest_files(engine, [str(write_ndjson(rows, tmp_path / "downloads.ndjson.gz"))])
    return make_client(), expected_stats(rows)


def rows_of(series: dict[Any, int]) -> list[dict[str, Any]]:
    totals: Counter[str] = Counter()
    for (category, _), n in series.items():
        totals[category] += n
    return [
        {"category": c, "date": d.isoformat(), "downloads": n}
        for (c, d), n in sorted(series.items())
        if totals[c] > 0
    ]


def test_every_series_agrees_with_the_reference(ingested: tuple[TestClient, Expected]) -> None:
    client, expected = ingested
    for package in [*expected.packages, ALL]:
        for ci in (None, False):
            query = "?ci=false" if ci is False else ""
            overall = client.get(f"/api/packages/{package}/overall{query}").json()
            assert overall["data"] == rows_of(expected.series(package, "overall", ci=ci))
            for breakdown in BREAKDOWNS:
                body = client.get(f"/api/packages/{package}/{breakdown}{query}").json()
                assert body["data"] == rows_of(expected.series(package, breakdown, ci=ci)), (
                    package, breakdown, ci,
                )  # fmt: skip
            recent = client.get(f"/api/packages/{package}/recent{query}").json()["data"]
            day, week, month = expected.recent_for(package, ci=ci)
            assert recent == {"last_day": day, "last_month": month, "last_week": week}


def test_versions_summary_and_top_agree(ingested: tuple[TestClient, Expected]) -> None:
    client, expected = ingested
    versions = client.get("/api/packages/typing_extensions/versions").json()["data"]
    assert versions == rows_of(expected.series("typing-extensions", "version"))
    summary = client.get("/api/packages/numpy/summary").json()["totals"]
    with_mirrors = sum(n for (c, _), n in expected.series("numpy", "overall").items()
                       if c == "with_mirrors")  # fmt: skip
    assert summary["overall"] == with_mirrors
    top = client.get("/api/top?period=week&limit=1000").json()["data"]
    want = {p: expected.recent_for(p)[1] for p in expected.packages}
    assert {r["package"]: r["downloads"] for r in top} == {p: n for p, n in want.items() if n}


def test_status_reflects_the_ingest(ingested: tuple[TestClient, Expected]) -> None:
    client, expected = ingested
    status = client.get("/api/downloads/status").json()
    assert [d["date"] for d in status["days"]] == [d.isoformat() for d in expected.days]
    assert status["gaps"] == [] and status["synthetic"] is False
    rejected = sum(d["rows_rejected"] for d in status["days"])
    assert rejected == sum(sum(c.values()) for c in expected.rejected.values())
