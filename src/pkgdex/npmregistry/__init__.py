"""The npm registry read API (pull-through cache of packuments)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI

from pkgdex.npmregistry.routes import router
from pkgdex.npmregistry.services import MAX_FLIGHTS


def register(app: FastAPI) -> None:
    """Attach this domain's routes to ``app`` (the upstream client is the metadata domain's)."""
    from pkgdex.app import on_shutdown, on_startup  # pkgdex.app imports this package

    app.include_router(router)
    on_startup(app, _open_flights)
    on_shutdown(app, _close_flights)


def _open_flights(app: FastAPI) -> None:
    # The threads that pull packuments through and store them behind the answer.
    app.state.npm_flights = ThreadPoolExecutor(MAX_FLIGHTS, thread_name_prefix="pkgdex-npm")


def _close_flights(app: FastAPI) -> None:
    app.state.npm_flights.shutdown(wait=True)  # lets stores in progress commit
