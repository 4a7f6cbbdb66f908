"""The index domain: every PyPI and npm package name, searchable, behind the OSMA-compatible API."""

from __future__ import annotations

from fastapi import FastAPI

from pkgdex.fastroutes import add_fast_routes
from pkgdex.index.queries import ECOSYSTEMS
from pkgdex.index.reloads import IndexReloads
from pkgdex.index.routes import fast_routes, make_router


def register(app: FastAPI) -> None:
    """Attach this domain's routes and start-up work to ``app``."""
    from pkgdex.app import on_shutdown, on_startup  # pkgdex.app imports this package

    add_fast_routes(app, fast_routes(app.state.settings))
    for ecosystem in ECOSYSTEMS:
        app.include_router(make_router(ecosystem, app.state.settings))
    on_startup(app, _start_reloads)
    on_shutdown(app, _stop_reloads)


def _start_reloads(app: FastAPI) -> None:
    # Serve at once: a cold start loads PKGDEX_INDEX_BOOTSTRAP in the background.
    app.state.index_reloads = IndexReloads(app.state.engine, app.state.settings)
    app.state.index_reloads.bootstrap()


def _stop_reloads(app: FastAPI) -> None:
    app.state.index_reloads.close()
