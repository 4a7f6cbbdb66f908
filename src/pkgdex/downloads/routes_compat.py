"""``/api/packages/{package}/...``: pypistats.org's API, pypistats.dev's additions, versions.

Every route also takes ``start``/``end`` (inclusive days; default: the 180 days ending on the
latest ingested day) and ``ci=false``; see :mod:`pkgdex.downloads.params`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response

from pkgdex.config import Settings
from pkgdex.downloads import compat
from pkgdex.downloads.context import json_stats
from pkgdex.downloads.params import CategoryFilter, StatsParamsDep
from pkgdex.downloads.rendering import rate_limited
from pkgdex.ratelimit import RateLimit

Period = Literal["day", "week", "month"]
TrueFalse = Literal["true", "false"]


async def recent(
    p: StatsParamsDep, request: Request, response: Response, period: Period | None = None
) -> Response:
    """Downloads (without mirrors) over the latest ingested day, 7 and 30 days.

    Not a series: ``start``/``end`` are checked but do not change the answer.
    """
    return await json_stats(request, response, p, compat.recent_downloads, period)


async def overall(
    p: StatsParamsDep, request: Request, response: Response, mirrors: TrueFalse | None = None
) -> Response:
    """Daily downloads with and/or without mirrors."""
    flag = None if mirrors is None else mirrors == "true"
    return await json_stats(request, response, p, compat.overall_downloads, flag)


async def python_major(
    p: StatsParamsDep, request: Request, response: Response, version: CategoryFilter = None
) -> Response:
    """Daily downloads per Python major version (e.g. 3)."""
    body = compat.breakdown_downloads
    return await json_stats(request, response, p, body, "python_major", version)


async def python_minor(
    p: StatsParamsDep, request: Request, response: Response, version: CategoryFilter = None
) -> Response:
    """Daily downloads per Python minor version (e.g. 3.12)."""
    body = compat.breakdown_downloads
    return await json_stats(request, response, p, body, "python_minor", version)


async def system(
    p: StatsParamsDep, request: Request, response: Response, os: CategoryFilter = None
) -> Response:
    """Daily downloads per operating system; ``os`` matches case-insensitively."""
    return await json_stats(request, response, p, compat.breakdown_downloads, "system", os)


async def installer(
    p: StatsParamsDep, request: Request, response: Response, name: CategoryFilter = None
) -> Response:
    """Daily downloads per installer (pip, uv, poetry, ...)."""
    body = compat.breakdown_downloads
    return await json_stats(request, response, p, body, "installer", name)


async def versions(
    p: StatsParamsDep, request: Request, response: Response, version: CategoryFilter = None
) -> Response:
    """Daily downloads per released version of the package."""
    body = compat.breakdown_downloads
    return await json_stats(request, response, p, body, "version", version)


async def summary(p: StatsParamsDep, request: Request, response: Response) -> Response:
    """Totals per breakdown over the range (overall counted once)."""
    return await json_stats(request, response, p, compat.summary)


ROUTES: dict[str, Callable[..., Awaitable[Response]]] = {
    "/recent": recent,
    "/overall": overall,
    "/python_major": python_major,
    "/python_minor": python_minor,
    "/system": system,
    "/installer": installer,
    "/versions": versions,
    "/summary": summary,
}


def router(settings: Settings) -> APIRouter:
    limit = RateLimit("stats", settings.rate_limit_stats, rate_limited)
    api = APIRouter(
        prefix="/api/packages/{package}", tags=["downloads"], dependencies=[Depends(limit)]
    )
    for path, handler in ROUTES.items():
        api.add_api_route(path, handler, methods=["GET"], response_class=Response)
    return api
