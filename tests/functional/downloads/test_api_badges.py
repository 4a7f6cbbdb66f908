"""``/badge/pypi/{package}/{period}.svg`` through HTTP."""

from __future__ import annotations

# The parsed SVG is pkgdex's own output, not untrusted input.
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from conftest import ClientFactory
from support.download_rows import Expected, expected_stats, generate_rows
from support.stats_tables import store_all

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def expected() -> Expected:
    return expected_stats(generate_rows(days=9, rows_per_day=150))


def badge_texts(svg: str) -> list[str | None]:
    return [t.text for t in ET.fromstring(svg).iter(f"{SVG}text")][::2]  # noqa: S314


def test_badge_shows_recent_downloads(
    make_client: ClientFactory, engine: Engine, expected: Expected
) -> None:
    store_all(engine, expected.daily, expected.recent)
    client = make_client()
    for index, period in enumerate(("day", "week", "month")):
        response = client.get(f"/badge/pypi/Requests/{period}.svg")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        assert response.headers["X-Data-As-Of"] == expected.days[-1].isoformat()
        count = expected.recent_for("requests")[index]
        assert count < 1000  # the fixture is small, so the number is printed in full
        assert badge_texts(response.text) == ["downloads", f"{count}/{period}"]
    no_ci = client.get("/badge/pypi/requests/month.svg?ci=false")
    assert badge_texts(no_ci.text)[1] == f"{expected.recent_for('requests', ci=False)[2]}/month"


def test_unknown_package_badge(client: TestClient) -> None:
    response = client.get("/badge/pypi/nothing-here/month.svg")
    assert response.status_code == 404
    assert badge_texts(response.text) == ["downloads", "package not found"]


def test_bad_period_and_bad_name(client: TestClient) -> None:
    response = client.get("/badge/pypi/numpy/year.svg")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_parameter"
    bad = client.get("/badge/pypi/-x-/month.svg")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_package"


def test_synthetic_badge_says_so(
    make_client: ClientFactory, engine: Engine, expected: Expected
) -> None:
    store_all(engine, expected.daily, expected.recent, synthetic=True)
    response = make_client().get("/badge/pypi/numpy/week.svg")
    assert badge_texts(response.text)[0] == "downloads (synthetic)"
    assert response.headers["X-Data-Synthetic"] == "true"
