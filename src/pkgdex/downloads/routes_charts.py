"""``/api/packages/{package}/chart/{type}``: PNG charts, or Chart.js JSON with ``format=json``."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import Connection

from pkgdex.config import Settings
from pkgdex.downloads import charts
from pkgdex.downloads.context import Later, json_stats, run_stats
from pkgdex.downloads.params import CategoryFilter, StatsParamsDep, StatsQuery
from pkgdex.downloads.rendering import binary, rate_limited
from pkgdex.errors import ApiError
from pkgdex.ratelimit import RateLimit

ChartKind = Literal["overall", "python_major", "python_minor", "system", "installer", "version"]
FILTERS = {"mirrors": ("overall",), "version": ("python_major", "python_minor", "version"),
           "os": ("system",)}  # fmt: skip


async def chart_request(
    type: ChartKind,  # the path segment is called "type" in pypistats.dev's API
    chart: Literal["line", "bar"] = "line",
    mirrors: Literal["true", "false"] | None = None,
    version: CategoryFilter = None,
    os: CategoryFilter = None,
    width: Annotated[int, Query(ge=300, le=4000, description="Pixels.")] = 1200,
    height: Annotated[int, Query(ge=200, le=3000, description="Pixels.")] = 600,
) -> charts.ChartRequest:
    """Dependency: the chart's kind, style, size and its one optional filter."""
    given = {"mirrors": mirrors, "version": version, "os": os}
    for name, value in given.items():
        if value is not None and type not in FILTERS[name]:
            kinds = ", ".join(FILTERS[name])
            raise ApiError(422, "invalid_parameter", f"{name} applies to {kinds} charts only")
    category = version or os
    if mirrors is not None:
        category = "with_mirrors" if mirrors == "true" else "without_mirrors"
    return charts.ChartRequest(type, chart, category, width, height)


ChartRequestDep = Annotated[charts.ChartRequest, Depends(chart_request)]


async def chart(
    p: StatsParamsDep,
    spec: ChartRequestDep,
    request: Request,
    response: Response,
    format: Literal["png", "json", "data"] = "png",  # pypistats.dev's name
    nocache: str | None = None,
    cache: str | None = None,
) -> Response:
    """A chart of one breakdown; PNG images are cached unless ``nocache=1``/``cache=false``."""
    if format != "png":
        return await json_stats(request, response, p, charts.chart_json, spec)
    use_cache = nocache not in ("1", "true") and cache not in ("0", "false")
    store: charts.ChartCache = request.app.state.chart_cache

    def answer(image: bytes, state: str) -> Response:
        response.headers["X-Chart-Cache"] = state
        return binary(image, "image/png", response)

    def png(conn: Connection, q: StatsQuery) -> Response | Later:
        key = charts.cache_key(q, spec)
        if use_cache and (image := store.get(key)) is not None:
            return answer(image, "hit")
        chart = charts.chart_json(conn, q, spec)
        if not use_cache:
            return lambda: answer(charts.render_to_cache(chart, spec, store, None), "bypass")
        return lambda: answer(charts.render_to_cache(chart, spec, store, key), "miss")

    return await run_stats(request, response, p, png)


def router(settings: Settings) -> APIRouter:
    limit = RateLimit("stats", settings.rate_limit_stats, rate_limited)
    api = APIRouter(tags=["downloads"], dependencies=[Depends(limit)])
    api.add_api_route(
        "/api/packages/{package}/chart/{type}", chart, methods=["GET"], response_class=Response
    )
    return api
