"""PyPI metadata (JSON and Simple APIs) and the pull-through engine npmregistry shares."""

from __future__ import annotations

from fastapi import FastAPI

from pkgdex.metadata.pullthrough import SingleFlight
from pkgdex.metadata.upstream import Upstream


def register(app: FastAPI) -> None:
    """Attach this domain's routes and start-up work to ``app``."""
    from pkgdex.app import on_shutdown, on_startup  # pkgdex.app imports this package

    on_startup(app, _open_upstream)
    on_shutdown(app, _close_upstream)


def _open_upstream(app: FastAPI) -> None:
    # One pooled client and one single-flight table per process, shared with npmregistry.
    app.state.upstream = Upstream.from_settings(app.state.settings)
    app.state.single_flight = SingleFlight.from_settings(app.state.settings)


def _close_upstream(app: FastAPI) -> None:
    app.state.upstream.close()
    app.state.single_flight.close()
