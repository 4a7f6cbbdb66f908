"""Plain Starlette routes matched ahead of every API router, for the most requested paths.

FastAPI matches a request against the routes of each included router in turn, about 3 us a
route, and then solves the matched route's dependencies. For an answer that costs little
itself (a ping, an answer already in memory), that machinery costs more than the answer: a
cached ``/pypi/<project>/json`` spent two thirds of its time matching the 49 routes before
it. Domains add such routes with :func:`add_fast_routes`. They are matched in the order added,
before every router, whatever the order the domains register in. Middleware and error
handlers still apply. The API routes for the same paths stay: they document the API, and
they answer what a fast route does not take.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route


def add_fast_routes(app: FastAPI, routes: Iterable[BaseRoute]) -> None:
    """Put ``routes`` after the fast routes already added and before every API route."""
    table = app.router.routes
    position = next((i for i, route in enumerate(table) if not _plain(route)), len(table))
    table[position:position] = list(routes)


def _plain(route: BaseRoute) -> bool:
    # FastAPI's own pages (/docs, /openapi.json) are plain routes too, and come first.
    return isinstance(route, Route) and not isinstance(route, APIRoute)
