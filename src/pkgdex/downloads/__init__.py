"""The downloads domain: PyPI download statistics, ingested from BigQuery's download log."""

from __future__ import annotations

from fastapi import FastAPI

from pkgdex.downloads import (
    routes_badges,
    routes_charts,
    routes_compat,
    routes_extended,
    routes_marketplace,
)
from pkgdex.downloads.charts import ChartCache
from pkgdex.errors import use_envelope_for


def register(app: FastAPI) -> None:
    """Attach this domain's routes and start-up work to ``app``."""
    settings = app.state.settings
    use_envelope_for(app, "/api/")
    use_envelope_for(app, "/badge/")
    app.include_router(routes_compat.router(settings))
    app.include_router(routes_charts.router(settings))
    app.include_router(routes_extended.router(settings))
    app.include_router(routes_badges.router(settings))
    app.include_router(routes_marketplace.router(settings))
    app.state.chart_cache = ChartCache(settings.chart_cache_entries)
