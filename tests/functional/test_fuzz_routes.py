"""Whatever a client sends, every route answers it: a clear 4xx in the shape of its surface,
never a server error, never an exception out of the app.

Every path template the app routes (read from ``app.routes``, so a new route is fuzzed from the
day it is added) gets hostile path segments, query strings, headers and bodies, against an
offline app over the demo database. No 5xx is legitimate there: offline, a pull-through miss
is a 404 (``PyPICache.project`` and ``NpmRegistry.packument`` never ask the upstream), the
index is loaded (no 503 from its health), and the stored documents are sound (no 502).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from starlette.routing import Match

from pkgdex.app import create_app
from pkgdex.config import Settings
from pkgdex.demo import build_demo_database
from support.hostile_http import HostileRequest, RouteShape, hostile_request, route_shapes

# A few hundred requests in all keep CI quick; a deeper hunt sets PKGDEX_FUZZ_EXAMPLES.
EXAMPLES_PER_ROUTE = int(os.environ.get("PKGDEX_FUZZ_EXAMPLES", "8"))
PEER = "127.0.0.1"  # a trusted proxy: its X-Forwarded-For is read


def fuzz_settings(database_url: str) -> Settings:
    """Offline; limits on (too generous to trip) and secrets set, so that the limiter, the
    bypass tokens and the forwarded addresses read what the fuzz sends them."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "offline": True,
        "rate_limits": "on",
        "rate_limit_index": "1000000/minute",
        "rate_limit_stats": "1000000/minute",
        "bypass_secret": "a-long-enough-bypass-secret",
        "rebuild_secret": "a-long-enough-rebuild-secret",
        "trusted_proxies": PEER,
    }
    return Settings(_env_file=None, **values)


def _app_route_shapes() -> list[RouteShape]:
    app = create_app(fuzz_settings("sqlite:///:memory:"))
    app.state.engine.dispose()
    return route_shapes(app)


ROUTE_SHAPES = _app_route_shapes()


@pytest.fixture(scope="module")
def demo_client(module_database_url: str) -> Iterator[TestClient]:
    """The demo database on each backend: PostgreSQL refuses values SQLite takes (a NUL in
    text, text past its column), so hostile input is sent to both."""
    build_demo_database(module_database_url)
    app = create_app(fuzz_settings(module_database_url))
    with TestClient(app, follow_redirects=False, client=(PEER, 50000)) as client:
        yield client


def app_of(client: TestClient) -> FastAPI:
    assert isinstance(client.app, FastAPI)
    return client.app


def test_the_fuzzed_routes_are_the_apps_routes(demo_client: TestClient) -> None:
    shapes = route_shapes(app_of(demo_client))
    assert shapes == ROUTE_SHAPES
    assert any(shape.path == "/registry/npm/{name}" for shape in shapes)


@pytest.mark.parametrize("shape", ROUTE_SHAPES, ids=lambda shape: shape.label)
def test_route_answers_hostile_input_without_a_server_error(
    demo_client: TestClient, shape: RouteShape
) -> None:
    @settings(
        max_examples=EXAMPLES_PER_ROUTE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(request=hostile_request(shape))
    def answers_cleanly(request: HostileRequest) -> None:
        check_answer(app_of(demo_client), request, send(demo_client, request))

    answers_cleanly()


def send(client: TestClient, request: HostileRequest) -> httpx2.Response:
    # The body goes with every method: a GET with a body is odd, not forbidden.
    return client.request(
        request.method, request.url, headers=request.headers, content=request.body or None
    )


def check_answer(app: FastAPI, request: HostileRequest, response: httpx2.Response) -> None:
    status = response.status_code
    where = f"{request} -> {status} {response.content[:300]!r}"
    assert status < 500, where
    if status >= 400 and request.method != "HEAD":
        surface = surface_of(app, path_as_the_app_saw_it(response))
        assert error_shape_is_the_surfaces(surface, response), where


def path_as_the_app_saw_it(response: httpx2.Response) -> str:
    # The test client unquotes the already decoded path once more (%252f arrives as "/").
    return unquote(response.request.url.path)


def surface_of(app: FastAPI, path: str) -> str:
    """Which surface answers ``path`` (as the server decoded it), named by its error shape.

    The native APIs, the marketplace API and npm's registry own every path under their
    prefixes; PyPI's surfaces only the paths their routes take: pypi.org's other paths are
    HTML pages, with no JSON shape to keep, so those get the app's own 404."""
    if path.startswith(("/api/", "/badge/")):
        return "native"
    if path.startswith("/pypistats-api/v1/"):
        return "marketplace"
    if path.startswith("/registry/npm/"):
        return "npm"
    if not routed(app, path):
        return "fastapi"
    if path.startswith("/simple/"):
        return "simple"
    if path.startswith("/pypi/") and path.rstrip("/").endswith("/json"):
        return "pypi-json"
    return "fastapi"


def routed(app: FastAPI, path: str) -> bool:
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": [],
             "query_string": b""}  # fmt: skip
    # A copy of the scope for each route: matching writes into it.
    return any(route.matches(dict(scope))[0] != Match.NONE for route in app.router.routes)


# Each surface's error shapes: pkgdex's envelope for native APIs, the originals' elsewhere.
ERROR_SHAPES = {
    "native": {"envelope"},
    "marketplace": {"marketplace"},
    "npm": {"npm", "npm-version"},
    "simple": {"pypi"},
    "pypi-json": {"pypi"},
    "fastapi": {"fastapi"},
}


def error_shape_is_the_surfaces(surface: str, response: httpx2.Response) -> bool:
    if surface == "native" and response.headers.get("content-type", "").startswith("image/"):
        return response.status_code == 404  # an unknown package's badge is an image
    if not _is_json(response):
        return False
    return _shape(response.json()) in ERROR_SHAPES[surface]


def _is_json(response: httpx2.Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0].strip() == "application/json"


def _shape(body: object) -> str | None:
    if isinstance(body, str) and body.startswith("version not found: "):
        return "npm-version"  # the registry's answer for a version it does not have
    if not isinstance(body, dict):
        return None
    keys = set(body)
    if keys == {"error"} and isinstance(body["error"], dict):
        return "envelope" if set(body["error"]) == {"code", "message", "requestId"} else None
    if keys == {"error"} and isinstance(body["error"], str):
        return "npm"
    if keys == {"message"} and isinstance(body["message"], str):
        return "pypi"
    if keys == {"detail"}:
        return "fastapi"
    if keys == {"data", "meta", "status", "message", "success"} and body["success"] is False:
        return "marketplace"
    return None
