"""Well-formed search and browse requests take plain Starlette routes ahead of the FastAPI ones:
every answer must be the one the FastAPI route gives, byte for byte, whatever the request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.routing import Match

from pkgdex.index.jobs import load_index
from pkgdex.index.routes import WellFormedRoute
from support.index_data import NPM_NAMES, PYPI_NAMES, write_listing

ClientFactory = Callable[..., TestClient]

# (method, path, query string): canonical requests, and every kind of odd one.
REQUESTS = [
    ("GET", "/npm/search", "q=react"),
    ("GET", "/npm/search", "q=REACT&limit=2"),
    ("GET", "/pypi/search", "q=requests&limit=500"),
    ("GET", "/pypi/search", "q=foo_bar&limit=1"),
    ("GET", "/npm/search", "q=%40types%2F"),
    ("GET", "/npm/search", "q=r%C3%A9act"),
    ("GET", "/npm/search", "q=%F0%9F%90%8D%F0%9F%90%8D"),
    ("GET", "/npm/search", "q=a+b"),
    ("GET", "/npm/search", "q=ab&q=react"),
    ("GET", "/npm/search", "q=" + "x" * 100),
    ("GET", "/npm/search", "q=" + "x" * 101),
    ("GET", "/npm/search", "q=a"),
    ("GET", "/npm/search", "q="),
    ("GET", "/npm/search", ""),
    ("GET", "/npm/search", "limit=5"),
    ("GET", "/npm/search", "q=react%0A"),
    ("GET", "/npm/search", "q=re%00act"),
    ("GET", "/npm/search", "q=re%7Fact"),
    ("GET", "/npm/search", "q=%ed%a0%80x"),
    ("GET", "/npm/search", "q=react&limit=0"),
    ("GET", "/npm/search", "q=react&limit=501"),
    ("GET", "/npm/search", "q=react&limit=050"),
    ("GET", "/npm/search", "q=react&limit=%2B5"),
    ("GET", "/npm/search", "q=react&limit=+5"),
    ("GET", "/npm/search", "q=react&limit=5.0"),
    ("GET", "/npm/search", "q=react&limit=-1"),
    ("GET", "/npm/search", "q=react&limit="),
    ("GET", "/npm/search", "q=react&limit=%D9%A3"),
    ("GET", "/npm/search", "q=react&limit=99999999999999999999"),
    ("GET", "/npm/search", "q=react&limit=5&limit=7"),
    ("GET", "/npm/search", "q=react&other=1"),
    ("HEAD", "/npm/search", "q=react"),
    ("POST", "/npm/search", "q=react"),
    ("GET", "/npm/search/", "q=react"),
    ("GET", "/npm/browse", ""),
    ("GET", "/npm/browse", "page=2&limit=3"),
    ("GET", "/pypi/browse", "page=1&limit=500"),
    ("GET", "/pypi/browse", "page=10000000&limit=500"),
    ("GET", "/pypi/browse", "page=10000001"),
    ("GET", "/npm/browse", "page=0"),
    ("GET", "/npm/browse", "page=01"),
    ("GET", "/npm/browse", "page=1e3"),
    ("GET", "/npm/browse", "page=%D9%A3"),
    ("GET", "/npm/browse", "limit=501"),
    ("GET", "/npm/browse", "limit=0"),
    ("GET", "/npm/browse", "page=3&page=1"),
    ("HEAD", "/npm/browse", ""),
    ("DELETE", "/npm/browse", ""),
]


@pytest.fixture
def two_apps(make_client: ClientFactory, engine: Engine, tmp_path: Path) -> list[TestClient]:
    """The same settings twice over one loaded index; the second app without the plain routes.
    Limits are on, so the X-RateLimit-* headers are compared too."""
    load_index(engine, "pypi", write_listing(tmp_path, "pypi", PYPI_NAMES))
    load_index(engine, "npm", write_listing(tmp_path, "npm", NPM_NAMES))
    clients = [make_client(rate_limits="on", rate_limit_index="1000/hour") for _ in range(2)]
    routes = clients[1].app.router.routes  # type: ignore[attr-defined]
    routes[:] = [route for route in routes if not isinstance(route, WellFormedRoute)]
    return clients


def test_every_answer_is_the_fastapi_routes_answer(two_apps: list[TestClient]) -> None:
    for method, path, query in REQUESTS:
        ours, theirs = (c.request(method, f"{path}?{query}" if query else path) for c in two_apps)
        where = f"{method} {path}?{query}"
        assert ours.status_code == theirs.status_code, where
        assert ours.content == theirs.content, where
        assert _comparable(ours.headers) == _comparable(theirs.headers), where


def _comparable(headers: object) -> list[tuple[str, str]]:
    assert hasattr(headers, "multi_items")
    kept = []
    for name, value in headers.multi_items():
        if name == "x-request-id":
            continue  # a fresh id each time
        if name == "x-ratelimit-reset":
            value = "a time"  # the two apps' windows may start a second apart
        kept.append((name, value))
    return kept


def test_well_formed_requests_do_take_the_plain_routes(two_apps: list[TestClient]) -> None:
    routes = [r for r in two_apps[0].app.router.routes if isinstance(r, WellFormedRoute)]  # type: ignore[attr-defined]
    assert len(routes) == 4  # search and browse, for each ecosystem
    search = next(r for r in routes if r.path == "/npm/search")
    browse = next(r for r in routes if r.path == "/npm/browse")
    assert _match(search, "GET", "/npm/search", b"q=react&limit=7") == ("npm", "react", 7)
    assert _match(search, "GET", "/npm/search", b"q=react") == ("npm", "react", 250)
    assert _match(browse, "GET", "/npm/browse", b"") == ("npm", 1, 200)
    assert _match(browse, "GET", "/npm/browse", b"page=10000000&limit=500") == (
        "npm",
        10_000_000,
        500,
    )
    for query in (b"q=react&limit=501", b"q=r", b"limit=5", b"q=react&limit=07"):
        assert _match(search, "GET", "/npm/search", query) is None
    assert _match(search, "HEAD", "/npm/search", b"q=react") is None
    assert _match(search, "GET", "/pypi/search", b"q=react") is None


def _match(route: WellFormedRoute, method: str, path: str, query: bytes) -> object:
    scope = {"type": "http", "method": method, "path": path, "query_string": query}
    match, child_scope = route.matches(scope)
    if match is Match.NONE:
        return None
    assert match is Match.FULL
    return child_scope["pkgdex.index.parameters"]
