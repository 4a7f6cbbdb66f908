"""The application factory's route table: its order is free to follow traffic only because no
request path can be taken by the routes of two domains."""

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


def test_the_most_requested_surfaces_are_tried_first(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings())
    routes = [r for r in _routes(app.router.routes) if _domain(r) != "fastapi"]
    first = routes[0]
    assert isinstance(first, APIRoute)
    assert (first.path, first.methods) == ("/pypi/{project}/json", {"GET"})
