"""pypistats.dev's additions and pkgdex's own endpoints: installer, versions, summary, top,
status, synthetic labels and the per-IP rate limit."""

from __future__ import annotations

import datetime as dt
import uuid
import warnings
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from conftest import ClientFactory
from support.download_rows import ALL, Expected, expected_stats, generate_rows
from support.stats_tables import store_all, store_ledger


@pytest.fixture
def expected() -> Expected:
    return expected_stats(generate_rows(days=10, rows_per_day=200))


@pytest.fixture
def stats(make_client: ClientFactory, engine: Engine, expected: Expected) -> TestClient:
    store_all(engine, expected.daily, expected.recent)
    return make_client()


def rows_of(series: dict[tuple[str, dt.date], int]) -> list[dict[str, Any]]:
    totals: Counter[str] = Counter()
    for (category, _), n in series.items():
        totals[category] += n
    return [
        {"category": c, "date": d.isoformat(), "downloads": n}
        for (c, d), n in sorted(series.items())
        if totals[c] > 0
    ]


def category_totals(series: dict[tuple[str, dt.date], int]) -> dict[str, int]:
    out: Counter[str] = Counter()
    for (category, _), n in series.items():
        out[category] += n
    return {k: v for k, v in out.items() if v}


@pytest.mark.parametrize(
    ("path", "breakdown"), [("installer", "installer"), ("versions", "version")]
)
def test_installer_and_versions_series(
    stats: TestClient, expected: Expected, path: str, breakdown: str
) -> None:
    body = stats.get(f"/api/packages/numpy/{path}").json()
    assert body["data"] == rows_of(expected.series("numpy", breakdown))
    assert body["type"] == f"{breakdown}_downloads" and body["package"] == "numpy"
    assert body["start"] == (expected.days[-1] - dt.timedelta(days=179)).isoformat()
    assert body["end"] == expected.days[-1].isoformat()
    assert body["synthetic"] is False
    rows = stats.get("/api/packages/numpy/installer").json()["data"]
    installers = {row["category"] for row in rows}
    assert installers.isdisjoint({"bandersnatch", "devpi", "Artifactory", "z3c.pypimirror"})


def test_versions_filter_and_range_echo(stats: TestClient, expected: Expected) -> None:
    first = expected.days[0].isoformat()
    body = stats.get(f"/api/packages/numpy/versions?version=1.0.0&start={first}&end={first}").json()
    assert body["start"] == body["end"] == first
    assert {r["category"] for r in body["data"]} == {"1.0.0"}
    assert [r["date"] for r in body["data"]] == [first]


def test_summary_counts_overall_once(stats: TestClient, expected: Expected) -> None:
    body = stats.get("/api/packages/requests/summary").json()
    overall = category_totals(expected.series("requests", "overall"))
    assert body["package"] == "requests" and body["type"] == "summary"
    totals = body["totals"]
    assert totals["overall"] == overall["with_mirrors"]
    assert totals["overall_without_mirrors"] == overall["without_mirrors"]
    for breakdown in ("python_major", "python_minor", "system", "installer"):
        assert totals[breakdown] == category_totals(expected.series("requests", breakdown))
    # every breakdown counts the downloads without mirrors, each exactly once
    assert sum(totals["system"].values()) == overall["without_mirrors"]
    assert sum(totals["python_major"].values()) == overall["without_mirrors"]
    no_ci = stats.get("/api/packages/requests/summary?ci=false").json()["totals"]
    assert no_ci["overall"] == category_totals(expected.series("requests", "overall", ci=False))[
        "with_mirrors"
    ]
    assert stats.get("/api/packages/not-a-package/summary").status_code == 404


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_top(stats: TestClient, expected: Expected, period: str) -> None:
    index = {"day": 0, "week": 1, "month": 2}[period]
    want = sorted(
        ((p, expected.recent_for(p)[index]) for p in expected.packages),
        key=lambda item: (-item[1], item[0]),
    )
    want = [item for item in want if item[1]]
    body = stats.get(f"/api/top?period={period}&limit=3").json()
    assert [(r["package"], r["downloads"]) for r in body["data"]] == want[:3]
    assert [r["rank"] for r in body["data"]] == [1, 2, 3]
    assert ALL not in {r["package"] for r in body["data"]}
    assert body["end"] == expected.days[-1].isoformat()
    days = {"day": 1, "week": 7, "month": 30}[period]
    assert body["start"] == (expected.days[-1] - dt.timedelta(days=days - 1)).isoformat()


def test_top_without_ci_and_bad_limits(stats: TestClient, expected: Expected) -> None:
    body = stats.get("/api/top?ci=false&limit=1000").json()
    got = {r["package"]: r["downloads"] for r in body["data"]}
    want = {p: expected.recent_for(p, ci=False)[2] for p in expected.packages}
    assert got == {p: n for p, n in want.items() if n}
    for query in ("limit=0", "limit=1001", "limit=x", "period=year"):
        response = stats.get(f"/api/top?{query}")
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_parameter"


def test_status_lists_days_and_gaps(make_client: ClientFactory, engine: Engine) -> None:
    day = dt.date(2026, 9, 1)
    store_ledger(engine, [day, day + dt.timedelta(days=1), day + dt.timedelta(days=4)])
    body = make_client().get("/api/downloads/status").json()
    assert body["as_of"] == "2026-09-05" and body["first_day"] == "2026-09-01"
    assert body["ingested_days"] == 3
    assert body["gaps"] == ["2026-09-03", "2026-09-04"]
    assert body["synthetic"] is False
    assert body["last_ingest"]["date"] == "2026-09-05"
    assert body["days"][0]["rejected_reasons"] == {"invalid_python": 1}


def test_status_of_an_empty_database(client: TestClient) -> None:
    response = client.get("/api/downloads/status")
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] is None and body["days"] == [] and body["gaps"] == []
    assert response.headers["X-Data-As-Of"] == "none"


def test_synthetic_data_is_labelled(
    make_client: ClientFactory, engine: Engine, expected: Expected
) -> None:
    store_all(engine, expected.daily, expected.recent, synthetic=True)
    client = make_client()
    for path in ("/api/packages/numpy/overall", "/api/top", "/api/downloads/status"):
        assert client.get(path).headers["X-Data-Synthetic"] == "true"
    assert client.get("/api/packages/numpy/installer").json()["synthetic"] is True
    assert client.get("/api/downloads/status").json()["synthetic"] is True
    chart = client.get("/api/packages/numpy/chart/overall?format=json").json()
    assert "synthetic" in chart["title"]


def test_rate_limit_uses_the_envelope_and_headers(
    make_client: ClientFactory, engine: Engine, expected: Expected
) -> None:
    store_all(engine, expected.daily, expected.recent)
    client = make_client(rate_limits="on", rate_limit_stats="3/minute")
    statuses = []
    for _ in range(3):
        response = client.get("/api/packages/numpy/recent")
        statuses.append(response.status_code)
        assert response.headers["X-RateLimit-Limit"] == "3"
    assert statuses == [200, 200, 200]
    assert response.headers["X-RateLimit-Remaining"] == "0"
    limited = client.get("/api/packages/numpy/overall")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.json()["error"]["requestId"] == limited.headers["X-Request-ID"]
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    # the budget is shared by every statistics surface
    assert client.get("/api/top").status_code == 429
    assert client.get("/api/packages/numpy/chart/overall").status_code == 429


@pytest.mark.redis
def test_rate_limit_is_shared_through_redis(
    make_client: ClientFactory, redis_url: str, engine: Engine, expected: Expected
) -> None:
    """Two servers sharing Redis share one budget per client address."""
    store_all(engine, expected.daily, expected.recent)
    settings = {
        "rate_limits": "on",
        "rate_limit_stats": "3/minute",
        "redis_url": redis_url,
        "redis_prefix": f"test-{uuid.uuid4().hex}",
    }
    first, second = make_client(**settings), make_client(**settings)
    assert [first.get("/api/packages/numpy/recent").status_code for _ in range(2)] == [200, 200]
    assert second.get("/api/packages/numpy/recent").status_code == 200
    limited = second.get("/badge/pypi/numpy/month.svg")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert first.get("/pypistats-api/v1/meta").json()["status"] == "rate_limited"


def test_browsers_may_read_the_freshness_headers(stats: TestClient) -> None:
    response = stats.get("/api/packages/numpy/overall", headers={"Origin": "https://example.org"})
    listed = response.headers["access-control-expose-headers"].split(",")
    exposed = {h.strip().lower() for h in listed}
    assert {"x-data-as-of", "x-data-synthetic", "x-chart-cache"} <= exposed


def test_every_statistics_route_is_documented_once(client: TestClient) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # other domains' duplicates are theirs to pin
        spec = client.get("/openapi.json").json()
    ours = {
        path: item["get"]["operationId"]
        for path, item in spec["paths"].items()
        if path.startswith(("/api/packages", "/api/top", "/api/downloads", "/badge/",
                            "/pypistats-api/"))
    }  # fmt: skip
    assert len(ours) == 17
    assert len(set(ours.values())) == len(ours)
