"""PyPI metadata (JSON and Simple APIs) and the pull-through engine npmregistry shares."""

from __future__ import annotations

from fastapi import FastAPI

from pkgdex.fastroutes import add_fast_routes
from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.coremetadata import learn_behind
from pkgdex.metadata.jobs import tell_name_index
from pkgdex.metadata.pullthrough import SingleFlight
from pkgdex.metadata.upstream import Upstream


def register(app: FastAPI) -> None:
    """Attach this domain's routes and start-up work to ``app``."""
    from pkgdex.app import on_shutdown, on_startup  # pkgdex.app imports this package
    from pkgdex.metadata.routes import fast_routes, router

    app.include_router(router)
    add_fast_routes(app, fast_routes())
    on_startup(app, _open_upstream)
    on_shutdown(app, _close_upstream)


def _open_upstream(app: FastAPI) -> None:
    # One pooled client and one single-flight table per process, shared with npmregistry.
    settings = app.state.settings
    app.state.upstream = Upstream.from_settings(settings)
    app.state.single_flight = SingleFlight.from_settings(settings)
    app.state.pypi_cache = PyPICache.create(
        settings,
        app.state.engine,
        app.state.upstream,
        app.state.single_flight,
        on_new_project=tell_name_index,
        before_write=learn_behind,
    )


def _close_upstream(app: FastAPI) -> None:
    app.state.pypi_cache.close()
    app.state.upstream.close()
    app.state.single_flight.close()
