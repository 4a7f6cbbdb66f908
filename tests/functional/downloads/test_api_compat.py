"""pypistats.org's API shapes and numbers, against the independent reference of the raw rows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from conftest import ClientFactory
from support.download_rows import ALL, Expected, expected_stats, generate_rows
from support.stats_tables import store_all, table_missing

BREAKDOWNS = ("python_major", "python_minor", "system")


@pytest.fixture
def expected() -> Expected:
    return expected_stats(generate_rows(days=12, rows_per_day=200))


@pytest.fixture
def stats(make_client: ClientFactory, engine: Engine, expected: Expected) -> TestClient:
    store_all(engine, expected.daily, expected.recent)
    return make_client()


def rows_of(series: dict[tuple[str, dt.date], int]) -> list[dict[str, Any]]:
    """The original's rows: sorted by category then date, all-zero categories left out."""
    per_category: dict[str, int] = defaultdict(int)
    for (category, _), n in series.items():
        per_category[category] += n
    return [
        {"category": c, "date": d.isoformat(), "downloads": n}
        for (c, d), n in sorted(series.items())
        if per_category[c] > 0
    ]


def test_recent_matches_the_reference(stats: TestClient, expected: Expected) -> None:
    for package in [*expected.packages, ALL]:
        day, week, month = expected.recent_for(package)
        response = stats.get(f"/api/packages/{package}/recent")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "data": {"last_day": day, "last_month": month, "last_week": week},
            "package": package,
            "type": "recent_downloads",
        }


def test_recent_keys_are_sorted_in_the_body(stats: TestClient) -> None:
    text = stats.get("/api/packages/numpy/recent").text
    assert text.index('"data"') < text.index('"package"') < text.index('"type"')
    assert text.index('"last_day"') < text.index('"last_month"') < text.index('"last_week"')


@pytest.mark.parametrize("period", ["day", "week", "month"])
def test_recent_period_keeps_one_key(stats: TestClient, expected: Expected, period: str) -> None:
    index = {"day": 0, "week": 1, "month": 2}[period]
    body = stats.get(f"/api/packages/requests/recent?period={period}").json()
    assert body["data"] == {f"last_{period}": expected.recent_for("requests")[index]}


def test_recent_without_ci(stats: TestClient, expected: Expected) -> None:
    day, week, month = expected.recent_for("numpy", ci=False)
    body = stats.get("/api/packages/numpy/recent?ci=false").json()
    assert body["data"] == {"last_day": day, "last_month": month, "last_week": week}
    assert month < expected.recent_for("numpy")[2]  # the fixture has CI downloads


@pytest.mark.parametrize("mirrors", [None, "true", "false"])
def test_overall_matches_the_reference(
    stats: TestClient, expected: Expected, mirrors: str | None
) -> None:
    series = expected.series("numpy", "overall")
    if mirrors is not None:
        keep = "with_mirrors" if mirrors == "true" else "without_mirrors"
        series = {k: v for k, v in series.items() if k[0] == keep}
    query = f"?mirrors={mirrors}" if mirrors else ""
    response = stats.get(f"/api/packages/numpy/overall{query}")
    assert response.status_code == 200
    assert response.json() == {
        "data": rows_of(series),
        "package": "numpy",
        "type": "overall_downloads",
    }


@pytest.mark.parametrize("breakdown", BREAKDOWNS)
def test_breakdowns_match_the_reference(
    stats: TestClient, expected: Expected, breakdown: str
) -> None:
    for package in [*expected.packages, ALL]:
        body = stats.get(f"/api/packages/{package}/{breakdown}").json()
        assert body == {
            "data": rows_of(expected.series(package, breakdown)),
            "package": package,
            "type": f"{breakdown}_downloads",
        }


@pytest.mark.parametrize("breakdown", [*BREAKDOWNS, "overall"])
def test_ci_false_excludes_ci_downloads(
    stats: TestClient, expected: Expected, breakdown: str
) -> None:
    body = stats.get(f"/api/packages/requests/{breakdown}?ci=false").json()
    assert body["data"] == rows_of(expected.series("requests", breakdown, ci=False))


def test_filters(stats: TestClient, expected: Expected) -> None:
    major = stats.get("/api/packages/requests/python_major?version=3").json()["data"]
    assert major and {r["category"] for r in major} == {"3"}
    minor = stats.get("/api/packages/requests/python_minor?version=3.12").json()["data"]
    assert minor == [r for r in rows_of(expected.series("requests", "python_minor"))
                     if r["category"] == "3.12"]
    for spelling in ("windows", "WINDOWS", "Windows"):
        system = stats.get(f"/api/packages/requests/system?os={spelling}").json()["data"]
        assert system == [r for r in rows_of(expected.series("requests", "system"))
                          if r["category"] == "Windows"]
    nulls = stats.get("/api/packages/requests/system?os=null").json()["data"]
    assert nulls and {r["category"] for r in nulls} == {"null"}
    assert stats.get("/api/packages/requests/system?os=plan9").json()["data"] == []


@pytest.mark.parametrize(
    "spelling", ["Zope.Interface", "zope_interface", "ZOPE--interface", "zope-_.interface"]
)
def test_names_are_matched_after_pep503_normalisation(stats: TestClient, spelling: str) -> None:
    for endpoint in ("recent", "overall", "system"):
        body = stats.get(f"/api/packages/{spelling}/{endpoint}").json()
        assert body["package"] == "zope-interface"
        assert body["data"]


def test_unknown_package(stats: TestClient) -> None:
    for endpoint in ("recent", "overall"):
        response = stats.get(f"/api/packages/no-such-thing/{endpoint}")
        assert response.status_code == 404
        error = response.json()["error"]
        assert error["code"] == "not_found" and "no-such-thing" in error["message"]
        assert error["requestId"] == response.headers["X-Request-ID"]
    for endpoint in (*BREAKDOWNS, "installer", "versions"):
        response = stats.get(f"/api/packages/No_Such.Thing/{endpoint}")
        assert response.status_code == 200
        assert response.json()["data"] == [] and response.json()["package"] == "no-such-thing"


@pytest.mark.parametrize(
    ("path_segment", "status", "code"),
    [
        ("-leading", 400, "invalid_package"),
        ("has%20space", 400, "invalid_package"),
        ("trailing.", 400, "invalid_package"),
        ("%C3%A9", 400, "invalid_package"),
        ("x" * 201, 400, "invalid_package"),
        ("a%2Fb", 404, "not_found"),  # a slash splits the path: no such route
    ],
)
def test_invalid_package_name(
    stats: TestClient, path_segment: str, status: int, code: str
) -> None:
    response = stats.get(f"/api/packages/{path_segment}/overall")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_invalid_name_is_an_envelope(stats: TestClient) -> None:
    response = stats.get("/api/packages/-bad-/recent")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_package"


def test_every_stats_response_says_how_fresh(stats: TestClient, expected: Expected) -> None:
    latest = expected.days[-1].isoformat()
    for path in ("recent", "overall", "system", "summary"):
        response = stats.get(f"/api/packages/numpy/{path}")
        assert response.headers["X-Data-As-Of"] == latest
        assert response.headers["X-Data-Synthetic"] == "false"
    missing = stats.get("/api/packages/nothing-here/overall")
    assert missing.status_code == 404 and missing.headers["X-Data-As-Of"] == latest


def test_series_never_has_a_category_that_is_all_zero(
    make_client: ClientFactory, engine: Engine
) -> None:
    day = dt.date(2026, 9, 1)
    daily = {
        ("pkg", "system", day, "Linux", False): 5,
        ("pkg", "system", day, "Windows", False): 0,
        ("pkg", "system", day + dt.timedelta(days=1), "Windows", False): 0,
        ("pkg", "system", day, "Darwin", True): 3,
        ("pkg", "overall", day, "with_mirrors", False): 5,
        ("pkg", "overall", day, "without_mirrors", False): 0,
    }
    store_all(engine, daily, {("pkg", False): (0, 0, 0)})
    client = make_client()
    system = client.get("/api/packages/pkg/system").json()["data"]
    assert [r["category"] for r in system] == ["Darwin", "Linux"]
    no_ci = client.get("/api/packages/pkg/system?ci=false").json()["data"]
    assert [r["category"] for r in no_ci] == ["Linux"]
    overall = client.get("/api/packages/pkg/overall").json()["data"]
    assert [r["category"] for r in overall] == ["with_mirrors"]
    assert client.get("/api/packages/pkg/overall?mirrors=false").status_code == 404


def test_compatible_window_is_180_days_ending_on_the_latest_day(
    make_client: ClientFactory, engine: Engine
) -> None:
    latest = dt.date(2026, 10, 31)
    days = [latest - dt.timedelta(days=n) for n in range(200)]
    daily = {("pkg", "overall", d, "without_mirrors", False): 1 for d in days}
    store_all(engine, daily, {("pkg", False): (1, 7, 30)})
    client = make_client()
    rows = client.get("/api/packages/pkg/overall").json()["data"]
    assert len(rows) == 180
    assert rows[0]["date"] == (latest - dt.timedelta(days=179)).isoformat()
    assert rows[-1]["date"] == latest.isoformat()


def test_start_and_end_select_any_range(make_client: ClientFactory, engine: Engine) -> None:
    latest = dt.date(2026, 10, 31)
    days = [latest - dt.timedelta(days=n) for n in range(400)]
    daily = {("pkg", "overall", d, "without_mirrors", False): d.day for d in days}
    store_all(engine, daily, {("pkg", False): (1, 7, 30)})
    client = make_client()
    rows = client.get("/api/packages/pkg/overall?start=2025-10-01&end=2025-10-03").json()["data"]
    assert rows == [
        {"category": "without_mirrors", "date": f"2025-10-0{i}", "downloads": i} for i in (1, 2, 3)
    ]
    assert len(client.get("/api/packages/pkg/overall?start=2025-10-01").json()["data"]) == 396
    one = client.get("/api/packages/pkg/overall?start=2026-10-31&end=2026-10-31").json()["data"]
    assert len(one) == 1


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("start=2026-13-01", "start is not a calendar date"),
        ("start=yesterday", "start must be a date like"),
        ("end=2026-1-1", "end must be a date like"),
        ("start=2026-10-05&end=2026-10-01", "before start"),
        ("ci=maybe", "ci must be true or false"),
        ("mirrors=yes", "mirrors"),
    ],
)
def test_bad_parameters_get_clear_errors(stats: TestClient, query: str, fragment: str) -> None:
    response = stats.get(f"/api/packages/numpy/overall?{query}")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter" and fragment in error["message"]


def test_extreme_but_valid_ranges(stats: TestClient) -> None:
    for query in ("end=0001-01-05", "start=0001-01-01&end=9999-12-31", "start=9999-12-31"):
        response = stats.get(f"/api/packages/numpy/system?{query}")
        assert response.status_code in (200, 422), query
        assert response.status_code == 200 or "before start" in response.text
    assert stats.get("/api/packages/numpy/overall?end=0001-01-05").status_code == 404


def test_bad_period(stats: TestClient) -> None:
    response = stats.get("/api/packages/numpy/recent?period=year")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_parameter"


def test_empty_database(client: TestClient) -> None:
    assert client.get("/api/packages/numpy/overall").status_code == 404
    assert client.get("/api/packages/numpy/recent").status_code == 404
    body = client.get("/api/packages/numpy/system").json()
    assert body == {"data": [], "package": "numpy", "type": "system_downloads"}
    assert client.get("/api/packages/numpy/system").headers["X-Data-As-Of"] == "none"


def test_a_failing_database_answers_internal_error_in_the_envelope(
    stats: TestClient, engine: Engine
) -> None:
    with table_missing(engine, "downloads_daily"):
        as_served = TestClient(stats.app, raise_server_exceptions=False)
        response = as_served.get("/api/packages/numpy/overall")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal_error" and error["requestId"]
    assert "downloads_daily" not in response.text  # no internals leak out


@pytest.mark.parametrize(
    "query",
    [
        "system?os=%00",
        "python_minor?version=3.1%00",
        "installer?name=pip%0A",
        "chart/system?os=%1F&format=json",
        "versions?version=" + "9" * 65,
    ],
)
def test_control_characters_and_long_filters_are_refused(stats: TestClient, query: str) -> None:
    # PostgreSQL refuses NUL in text parameters: it must never reach the database.
    response = stats.get(f"/api/packages/numpy/{query}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_parameter"


def test_odd_but_printable_filters_just_match_nothing(stats: TestClient) -> None:
    for query in ("system?os=%C3%28", "versions?version=%E2%9C%93", "installer?name=%22'%3B"):
        response = stats.get(f"/api/packages/numpy/{query}")
        assert response.status_code == 200 and response.json()["data"] == []
