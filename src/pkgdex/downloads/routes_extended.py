"""``/api/top`` and ``/api/downloads/status``: what no public statistics service answers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from pkgdex.config import Settings
from pkgdex.downloads import extended
from pkgdex.downloads.context import run_with_data
from pkgdex.downloads.rendering import rate_limited, sorted_json
from pkgdex.ratelimit import RateLimit

MAX_TOP = 1000


async def top(
    request: Request,
    response: Response,
    period: Literal["day", "week", "month"] = "month",
    limit: Annotated[int, Query(ge=1, le=MAX_TOP)] = 100,
    ci: bool = True,
) -> Response:
    """The most downloaded packages (mirrors excluded) over the latest day, week or month."""
    return await run_with_data(
        request,
        response,
        lambda conn, fresh: sorted_json(
            extended.top_packages(conn, fresh, period, limit, ci=ci), response
        ),
    )


async def status(request: Request, response: Response) -> Response:
    """Ingested days, the gaps between them, the last ingest and whether data is synthetic."""
    return await run_with_data(
        request, response, lambda conn, _fresh: sorted_json(extended.status(conn), response)
    )


def router(settings: Settings) -> APIRouter:
    limit = RateLimit("stats", settings.rate_limit_stats, rate_limited)
    api = APIRouter(tags=["downloads"], dependencies=[Depends(limit)])
    api.add_api_route("/api/top", top, methods=["GET"], response_class=Response)
    api.add_api_route("/api/downloads/status", status, methods=["GET"], response_class=Response)
    return api
