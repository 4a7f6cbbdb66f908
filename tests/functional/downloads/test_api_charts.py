"""``/api/packages/{p}/chart/{type}``: PNG and Chart.js JSON, filters, sizes and the cache."""

from __future__ import annotations

import struct

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from conftest import ClientFactory
from support.download_rows import Expected, expected_stats, generate_rows
from support.stats_tables import store_all, store_ledger

KINDS = ["overall", "python_major", "python_minor", "system", "installer", "version"]


@pytest.fixture
def expected() -> Expected:
    return expected_stats(generate_rows(days=8, rows_per_day=150))


@pytest.fixture
def stats(make_client: ClientFactory, engine: Engine, expected: Expected) -> TestClient:
    store_all(engine, expected.daily, expected.recent)
    return make_client()


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


@pytest.mark.parametrize("kind", KINDS)
def test_json_chart_matches_the_reference(
    stats: TestClient, expected: Expected, kind: str
) -> None:
    response = stats.get(f"/api/packages/Requests/chart/{kind}?format=json&chart=bar")
    assert response.status_code == 200
    body = response.json()
    assert body["package"] == "requests" and body["type"] == kind
    assert body["chartType"] == "bar" and "requests" in body["title"]
    series = expected.series("requests", kind)
    days = sorted({d for _, d in series})
    assert body["labels"] == [d.isoformat() for d in days]
    want = {c for (c, _), n in series.items() if n}
    assert {d["label"] for d in body["datasets"]} == want
    for dataset in body["datasets"]:
        assert dataset["data"] == [series.get((dataset["label"], d), 0) for d in days]
    totals = [sum(d["data"]) for d in body["datasets"]]
    assert totals == sorted(totals, reverse=True)  # largest first, as a legend reads


def test_png_default_size_and_custom_size(stats: TestClient) -> None:
    response = stats.get("/api/packages/numpy/chart/system")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["X-Data-As-Of"]
    assert png_size(response.content) == (1200, 600)
    small = stats.get("/api/packages/numpy/chart/system?width=400&height=300&chart=bar")
    assert png_size(small.content) == (400, 300)


@pytest.mark.parametrize(
    "query", ["width=10", "width=100000", "height=0", "height=abc", "chart=pie", "format=gif"]
)
def test_bad_chart_parameters(stats: TestClient, query: str) -> None:
    response = stats.get(f"/api/packages/numpy/chart/overall?{query}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_parameter"


def test_unknown_chart_type_and_filter_on_the_wrong_chart(stats: TestClient) -> None:
    assert stats.get("/api/packages/numpy/chart/pie").status_code == 422
    wrong = stats.get("/api/packages/numpy/chart/system?mirrors=true")
    assert wrong.status_code == 422
    assert "mirrors applies to overall" in wrong.json()["error"]["message"]


def test_filters(stats: TestClient) -> None:
    overall = stats.get("/api/packages/numpy/chart/overall?format=json&mirrors=false").json()
    assert [d["label"] for d in overall["datasets"]] == ["without_mirrors"]
    system = stats.get("/api/packages/numpy/chart/system?format=json&os=LINUX").json()
    assert [d["label"] for d in system["datasets"]] == ["Linux"]
    minor = stats.get("/api/packages/numpy/chart/python_minor?format=json&version=3.12").json()
    assert [d["label"] for d in minor["datasets"]] == ["3.12"]


def test_unknown_package_is_404(stats: TestClient) -> None:
    for fmt in ("png", "json"):
        response = stats.get(f"/api/packages/not-there/chart/overall?format={fmt}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_png_cache_hits_and_bypass(stats: TestClient) -> None:
    url = "/api/packages/numpy/chart/python_major"
    first = stats.get(url)
    assert first.headers["X-Chart-Cache"] == "miss"
    second = stats.get(url)
    assert second.headers["X-Chart-Cache"] == "hit" and second.content == first.content
    assert stats.get(url + "?nocache=1").headers["X-Chart-Cache"] == "bypass"
    assert stats.get(url + "?cache=false").headers["X-Chart-Cache"] == "bypass"
    # anything that changes the picture is a different entry
    for variant in ("?chart=bar", "?width=800", "?ci=false", "?start=2026-09-02", "?version=3"):
        assert stats.get(url + variant).headers["X-Chart-Cache"] == "miss", variant


def test_new_data_day_is_a_new_cache_entry(
    stats: TestClient, engine: Engine, expected: Expected
) -> None:
    import datetime as dt

    url = "/api/packages/numpy/chart/overall"
    assert stats.get(url).headers["X-Chart-Cache"] == "miss"
    assert stats.get(url).headers["X-Chart-Cache"] == "hit"
    store_ledger(engine, [expected.days[-1] + dt.timedelta(days=1)])
    fresh = stats.get(url)
    assert fresh.headers["X-Chart-Cache"] == "miss"
    assert fresh.headers["X-Data-As-Of"] == (expected.days[-1] + dt.timedelta(days=1)).isoformat()


def test_cache_holds_at_most_the_configured_entries(
    make_client: ClientFactory, engine: Engine, expected: Expected
) -> None:
    store_all(engine, expected.daily, expected.recent)
    client = make_client(chart_cache_entries=2)
    for kind in ("overall", "system", "installer"):
        client.get(f"/api/packages/numpy/chart/{kind}")
    assert client.get("/api/packages/numpy/chart/installer").headers["X-Chart-Cache"] == "hit"
    assert client.get("/api/packages/numpy/chart/overall").headers["X-Chart-Cache"] == "miss"
    assert len(client.app.state.chart_cache) == 2  # type: ignore[attr-defined]
