"""The application factory: read top to bottom, it is the table of contents of pkgdex."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from pkgdex import downloads, home, index, metadata, npmregistry
from pkgdex.config import Settings
from pkgdex.db import make_engine
from pkgdex.errors import install_error_handlers
from pkgdex.middleware import RequestIdMiddleware
from pkgdex.ratelimit import Limiter

EXPOSED_HEADERS = [
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-Request-ID",
    "X-Data-As-Of",
    "X-Data-Synthetic",
    "X-Chart-Cache",
    "X-Pkgdex-Stale",
    "X-PyPI-Last-Serial",
    "ETag",
]

Hook = Callable[[FastAPI], None]


def create_app(settings: Settings) -> FastAPI:
    """Build a pkgdex server for ``settings``; nothing is shared with any other app."""
    app = FastAPI(
        title="pkgdex",
        summary="Self-hosted package intelligence for PyPI and npm.",
        version="0.1.0",
        lifespan=_lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.limiter = Limiter.from_settings(settings)
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []

    install_error_handlers(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
    )
    app.add_middleware(RequestIdMiddleware)

    home.register(app)  # /: the surfaces this server offers
    index.register(app)  # /pypi/* and /npm/*: the OSMA-compatible name index
    downloads.register(app)  # /api/*, /pypistats-api/v1/*, /badge/*: download statistics
    metadata.register(app)  # /pypi/<project>/json, /simple/: PyPI metadata, pull-through
    npmregistry.register(app)  # /registry/npm/: npm packuments and search, pull-through
    return app


def on_startup(app: FastAPI, hook: Hook) -> None:
    app.state.startup_hooks.append(hook)


def on_shutdown(app: FastAPI, hook: Hook) -> None:
    app.state.shutdown_hooks.append(hook)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    _resolve_routes(app)
    for hook in app.state.startup_hooks:
        hook(app)
    try:
        yield
    finally:
        for hook in reversed(app.state.shutdown_hooks):
            hook(app)
        app.state.engine.dispose()


# A request for a path no route takes: matching it visits every route of every included router.
_NO_ROUTE_SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/\x00",
    "root_path": "",
    "headers": [],
    "query_string": b"",
}


def _resolve_routes(app: FastAPI) -> None:
    """FastAPI resolves an included router's routes (their dependencies and parameters) when a
    request first reaches it: 25 ms that the first caller of a late router waited for. Asking
    every route to match a path none takes resolves them all before the first request."""
    for route in app.router.routes:
        route.matches(dict(_NO_ROUTE_SCOPE))  # a copy each: matching writes into the scope


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "pkgdex"
    return f"{tag}-{route.name}"


def app_from_environment() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (each worker builds its own app)."""
    app = create_app(Settings())
    # What start-up built (modules, the app, its routes) lives as long as the process: frozen,
    # the collector's full passes no longer walk it, so their pauses follow the requests'
    # own objects. Only here, not in create_app: tests build many apps in one process.
    gc.freeze()
    return app
