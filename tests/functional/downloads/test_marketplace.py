"""``/pypistats-api/v1/...``: the marketplace envelope, numbers, shares and errors."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from conftest import ClientFactory
from support.download_rows import Expected, expected_stats, generate_rows
from support.stats_tables import store_all, table_missing

V1 = "/pypistats-api/v1"


@pytest.fixture
def expected() -> Expected:
    return expected_stats(generate_rows(days=40, rows_per_day=60))


@pytest.fixture
def stats(make_client: ClientFactory, engine: Engine, expected: Expected) -> TestClient:
    store_all(engine, expected.daily, expected.recent)
    return make_client()


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "meta", "status", "message", "success"}
    assert body["success"] is True and body["status"] == "ok" and body["message"]
    assert body["meta"]["request_id"] == response.headers["X-Request-ID"]
    assert dt.datetime.fromisoformat(body["meta"]["timestamp"]).tzinfo is not None
    data: dict[str, Any] = body["data"]
    return data


def failed(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"data", "meta", "status", "message", "success"}
    assert body["success"] is False and body["data"] is None and body["status"] == code
    assert body["meta"]["request_id"] == response.headers["X-Request-ID"]
    message: str = body["message"]
    return message


def test_recent(stats: TestClient, expected: Expected) -> None:
    data = ok(stats.get(f"{V1}/recent?package=Zope_Interface"))
    day, week, month = expected.recent_for("zope-interface")
    assert data["package"] == "zope-interface"
    assert (data["last_day"], data["last_week"], data["last_month"]) == (day, week, month)
    assert data["as_of"] == expected.days[-1].isoformat() and data["synthetic"] is False


@pytest.mark.parametrize(("limit", "days"), [(None, 30), ("7", 7), ("180", 40), ("1", 1)])
def test_overall_limit(
    stats: TestClient, expected: Expected, limit: str | None, days: int
) -> None:
    query = f"&limit={limit}" if limit else ""
    data = ok(stats.get(f"{V1}/overall?package=numpy{query}"))
    series = {d: n for (c, d), n in expected.series("numpy", "overall").items()
              if c == "without_mirrors"}  # fmt: skip
    latest = expected.days[-1]
    want = [
        {"date": d.isoformat(), "downloads": n}
        for d, n in sorted(series.items())
        if (latest - d).days < days and n
    ]
    assert data["daily"] == want and data["days"] == len(want)
    assert data["total_downloads"] == sum(row["downloads"] for row in want)
    assert data["end"] == latest.isoformat()


@pytest.mark.parametrize(("path", "breakdown"), [("python", "python_minor"), ("system", "system")])
def test_shares(stats: TestClient, expected: Expected, path: str, breakdown: str) -> None:
    data = ok(stats.get(f"{V1}/{path}?package=requests"))
    totals: Counter[str] = Counter()
    for (category, _), n in expected.series("requests", breakdown).items():
        totals[category] += n
    total = sum(totals.values())
    assert data["total_downloads"] == total
    got = [(c["category"], c["downloads"]) for c in data["categories"]]
    assert got == sorted(((c, n) for c, n in totals.items() if n), key=lambda i: (-i[1], i[0]))
    for category in data["categories"]:
        assert category["share_pct"] == round(100 * category["downloads"] / total, 2)
    assert abs(sum(c["share_pct"] for c in data["categories"]) - 100) < 0.1


def test_meta_describes_the_service_and_its_data(stats: TestClient, expected: Expected) -> None:
    data = ok(stats.get(f"{V1}/meta"))
    assert {e["path"] for e in data["endpoints"]} == {
        f"{V1}/{name}" for name in ("recent", "overall", "python", "system", "meta")
    }
    upstream = data["upstream"]
    assert upstream["as_of"] == expected.days[-1].isoformat()
    assert upstream["ingested_days"] == len(expected.days)
    assert upstream["status"] == "ok" and upstream["gaps"] == []


def test_meta_of_an_empty_service(client: TestClient) -> None:
    assert ok(client.get(f"{V1}/meta"))["upstream"]["status"] == "empty"


@pytest.mark.parametrize("path", ["recent", "overall", "python", "system"])
def test_errors_keep_the_envelope(stats: TestClient, path: str) -> None:
    assert "required" in failed(stats.get(f"{V1}/{path}"), 400, "invalid_package")
    failed(stats.get(f"{V1}/{path}?package=-bad-"), 400, "invalid_package")
    assert "nothing-here" in failed(stats.get(f"{V1}/{path}?package=nothing-here"), 404,
                                    "not_found")  # fmt: skip
    failed(stats.get(f"{V1}/{path}?package=numpy&ci=perhaps"), 422, "invalid_parameter")


@pytest.mark.parametrize("limit", ["0", "181", "-1", "ten", "1.5", "²", "99999999999999999999"])
def test_overall_bad_limit(stats: TestClient, limit: str) -> None:
    message = failed(stats.get(f"{V1}/overall?package=numpy&limit={limit}"), 422,
                     "invalid_parameter")  # fmt: skip
    assert "limit" in message


def test_rate_limit_in_the_envelope(
    make_client: ClientFactory, engine: Engine, expected: Expected
) -> None:
    store_all(engine, expected.daily, expected.recent)
    client = make_client(rate_limits="on", rate_limit_stats="2/minute")
    ok(client.get(f"{V1}/recent?package=numpy"))
    ok(client.get(f"{V1}/meta"))
    limited = client.get(f"{V1}/recent?package=numpy")
    failed(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1


def test_a_failing_database_still_answers_in_the_envelope(
    stats: TestClient, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with table_missing(engine, "downloads_recent"):
        response = stats.get(f"{V1}/recent?package=numpy")
    message = failed(response, 500, "internal_error")
    assert message == "internal server error"
    assert "unhandled error on /pypistats-api/v1/recent" in caplog.text


def test_unknown_endpoint_answers_in_the_envelope(stats: TestClient) -> None:
    message = failed(stats.get(f"{V1}/downloads?package=numpy"), 404, "not_found")
    assert "'downloads'" in message and f"{V1}/recent" in message


@pytest.mark.parametrize("path", ["%0A", "a%0Ab", "a/%0A/b"])
def test_unknown_endpoint_with_a_newline_answers_in_the_envelope(
    stats: TestClient, path: str
) -> None:
    failed(stats.get(f"{V1}/{path}"), 404, "not_found")
