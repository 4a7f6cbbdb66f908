"""The application factory's route table: fast routes ahead of every router, and no request
path taken by the routes of two domains (so the order the domains register in changes nothing)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.routing import APIRoute
from starlette.routing import Route

from pkgdex.app import create_app
from pkgdex.config import Settings

SettingsFactory = Callable[..., Settings]
PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")


def _routes(routes: list[Any]) -> Iterator[Route]:
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes)
        elif isinstance(route, Route):
            yield route


def _domain(route: Route) -> str:
    module = getattr(route.endpoint, "__module__", "") or ""
    parts = module.split(".")
    return parts[1] if parts[0] == "pkgdex" and len(parts) > 1 else parts[0]


def _sample(path: str) -> str:
    """A concrete path the route takes: each parameter filled in."""
    return PARAMETER.sub(lambda m: "a/b" if m[2] == "path" else "sample", path)


def test_no_path_is_taken_by_two_domains(make_settings: SettingsFactory) -> None:
    routes = list(_routes(create_app(make_settings()).router.routes))
    assert len({_domain(r) for r in routes}) >= 5
    assert any(isinstance(r, APIRoute) and r.path == "/pypi/{project}/json" for r in routes)
    for route in routes:
        path = _sample(route.path)
        assert route.path_regex.match(path), route.path
        takers = {_domain(r) for r in routes if r.path_regex.match(path)}
        assert takers == {_domain(route)}, (route.path, takers)


def test_fast_routes_are_tried_before_every_router(make_settings: SettingsFactory) -> None:
    table = create_app(make_settings()).router.routes
    ahead = []
    for route in table:
        if isinstance(route, APIRoute) or hasattr(route, "original_router"):
            break
        ahead.append(route)
    paths = [r.path for r in ahead if isinstance(r, Route) and _domain(r) != "fastapi"]
    # The index's first (a ping must stay cheapest), then the pull-through's project pages.
    assert paths[0] == "/pypi/ping"
    assert {"/pypi/{project}/json", "/simple/{project}/"} <= set(paths)
    assert paths.index("/npm/browse") < paths.index("/pypi/{project}/json")
    behind = table[len(ahead) :]
    assert not any(isinstance(r, Route) and not isinstance(r, APIRoute) for r in behind)


def _first_full_match(table: list[Any], path: str) -> Any:
    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    for route in table:
        match, _ = route.matches(scope)
        if match.name == "FULL":
            return route
    return None


def test_npm_fast_routes_take_package_paths_and_leave_the_rest(
    make_settings: SettingsFactory,
) -> None:
    table = create_app(make_settings()).router.routes
    for path in ("/registry/npm/left-pad", "/registry/npm/left-pad/1.0.0",
                 "/registry/npm/@scope/name", "/registry/npm/@scope/name/^1"):  # fmt: skip
        route = _first_full_match(table, path)
        assert not isinstance(route, APIRoute) and _domain(route) == "npmregistry", path
    # Registry endpoints and tarballs: "-" marks them, and the API routes answer them.
    for path in ("/registry/npm/-/ping", "/registry/npm/-/v1/search", "/registry/npm/-",
                 "/registry/npm/left-pad/-/left-pad-1.0.0.tgz",
                 "/registry/npm/-/package/left-pad/dist-tags"):  # fmt: skip
        route = _first_full_match(table, path)
        assert isinstance(route, APIRoute) or hasattr(route, "original_router"), path
