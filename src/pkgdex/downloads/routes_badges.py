"""``/badge/pypi/{package}/{day|week|month}.svg``: README badges of recent downloads."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Connection

from pkgdex.config import Settings
from pkgdex.downloads import badges
from pkgdex.downloads.context import run_stats
from pkgdex.downloads.params import StatsParamsDep, StatsQuery
from pkgdex.downloads.rendering import carry_headers, rate_limited
from pkgdex.ratelimit import RateLimit

SVG = "image/svg+xml;charset=utf-8"


async def badge(
    p: StatsParamsDep,
    request: Request,
    response: Response,
    period: Literal["day", "week", "month"],
) -> Response:
    """A shields-style badge; an unknown package gets a grey "package not found" badge (404)."""

    def svg(conn: Connection, q: StatsQuery) -> Response:
        found = badges.downloads_badge(conn, q, period)
        out = Response(badges.render_svg(found), status_code=found.status, media_type=SVG)
        out.headers["Cache-Control"] = "public, max-age=3600"
        return carry_headers(out, response)

    return await run_stats(request, response, p, svg)


def router(settings: Settings) -> APIRouter:
    limit = RateLimit("stats", settings.rate_limit_stats, rate_limited)
    api = APIRouter(tags=["downloads"], dependencies=[Depends(limit)])
    api.add_api_route(
        "/badge/pypi/{package}/{period}.svg", badge, methods=["GET"], response_class=Response
    )
    return api
