"""Upstream faults: each gives a clear 502/504 when nothing is cached, the stale copy (marked)
when something is, and never changes what is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from pkgdex.npmregistry.models import npm_packuments
from support import fake_npm as fake_registry
from support.fake_npm import FakeNpm, NpmClient, unused_port_url

BASE = "/registry/npm"
FAULTS = [
    ("timeout", 504, "upstream_timeout"),
    ("500", 502, "upstream_error"),
    ("malformed", 502, "upstream_malformed"),
    ("not-utf8", 502, "upstream_malformed"),
    ("not-a-packument", 502, "upstream_malformed"),
    ("wrong-name", 502, "upstream_malformed"),
    ("too-deep", 502, "upstream_malformed"),
    ("nul-modified", 502, "upstream_malformed"),
    ("huge", 502, "upstream_too_large"),
    ("endless", 502, "upstream_too_large"),
    ("drop", 502, "upstream_unreachable"),
]


MESSAGES = {
    "upstream_timeout": "timed out",
    "upstream_error": "answered HTTP 500",
    "upstream_malformed": "",
    "upstream_too_large": "sent more than",
    "upstream_unreachable": "unreachable",
}


def test_every_fault_of_the_fake_is_tested() -> None:
    assert {fault for fault, _, _ in FAULTS} == set(fake_registry.FAULTS)


def stored_row(engine: Engine, name: str) -> tuple[object, ...] | None:
    with engine.connect() as conn:
        query = select(npm_packuments).where(npm_packuments.c.name == name)
        row = conn.execute(query).first()
    return tuple(row) if row is not None else None


@pytest.mark.parametrize(("fault", "status", "code"), FAULTS)
def test_fault_with_nothing_cached_is_a_clear_error(
    npm_client: NpmClient, fake_npm: FakeNpm, engine: Engine, fault: str, status: int, code: str
) -> None:
    fake_npm.fault = fault
    response = npm_client().get(f"{BASE}/left-pad")
    assert response.status_code == status
    # npm's shape: npm prints the string after the status ("502 Bad Gateway - GET ... - ").
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str)
    assert "127.0.0.1" in body["error"] or "npm upstream" in body["error"]
    assert MESSAGES[code] in body["error"]
    assert response.headers["x-request-id"]
    assert stored_row(engine, "left-pad") is None


@pytest.mark.parametrize(("fault", "status", "code"), FAULTS)
def test_fault_with_a_cached_copy_serves_it_stale_and_keeps_it(
    npm_client: NpmClient, fake_npm: FakeNpm, engine: Engine, fault: str, status: int, code: str
) -> None:
    client = npm_client(metadata_ttl_seconds=0)
    fresh = client.get(f"{BASE}/left-pad")
    before = stored_row(engine, "left-pad")
    fake_npm.fault = fault
    stale = client.get(f"{BASE}/left-pad")
    assert stale.status_code == 200
    assert stale.content == fresh.content
    assert stale.headers["x-pkgdex-stale"] == "1"
    assert stale.headers["warning"] == '110 - "Response is Stale"'
    after = stored_row(engine, "left-pad")
    assert after == before  # not even fetched_at moves: the next request tries again


def test_connection_refused(make_client: NpmClient) -> None:
    client = make_client(offline=False, npm_upstream=unused_port_url())
    response = client.get(f"{BASE}/left-pad")
    assert response.status_code == 502
    assert "is unreachable" in response.json()["error"]


def test_remembered_404_is_not_served_stale_when_upstream_fails(
    npm_client: NpmClient, fake_npm: FakeNpm
) -> None:
    client = npm_client(metadata_negative_ttl_seconds=0)
    assert client.get(f"{BASE}/gone").status_code == 404
    fake_npm.fault = "500"
    assert client.get(f"{BASE}/gone").status_code == 502


def test_recovers_once_the_upstream_does(npm_client: NpmClient, fake_npm: FakeNpm) -> None:
    client = npm_client()
    fake_npm.fault = "500"
    assert client.get(f"{BASE}/left-pad").status_code == 502
    fake_npm.fault = None
    assert client.get(f"{BASE}/left-pad").status_code == 200
