"""``/api/packages/{package}/...``: pypistats.org's API, pypistats.dev's additions, versions.

Every route also takes ``start``/``end`` (inclusive days; default: the 180 days ending on the
latest ingested day) and ``ci=false``; see :mod:`pkgdex.downloads.params`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from pkgdex.config import Settings
from pkgdex.deps import ConnectionDep
from pkgdex.downloads import compat
from pkgdex.downloads.params import StatsQueryDep
from pkgdex.downloads.rendering import rate_limited, sorted_json
from pkgdex.ratelimit import RateLimit

Period = Literal["day", "week", "month"]
TrueFalse = Literal["true", "false"]


def recent(
    q: StatsQueryDep, conn: ConnectionDep, response: Response, period: Period | None = None
) -> Response:
    """Downloads (without mirrors) over the latest ingested day, 7 and 30 days."""
    return sorted_json(compat.recent_downloads(conn, q, period), response)


def overall(
    q: StatsQueryDep, conn: ConnectionDep, response: Response, mirrors: TrueFalse | None = None
) -> Response:
    """Daily downloads with and/or without mirrors."""
    flag = None if mirrors is None else mirrors == "true"
    return sorted_json(compat.overall_downloads(conn, q, flag), response)


VersionFilter = Annotated[str | None, Query(max_length=64, description="One category only.")]
OsFilter = Annotated[
    str | None, Query(max_length=64, description="Windows, Linux, Darwin, other or null.")
]


def python_major(
    q: StatsQueryDep, conn: ConnectionDep, response: Response, version: VersionFilter = None
) -> Response:
    """Daily downloads per Python major version (e.g. 3)."""
    return sorted_json(compat.breakdown_downloads(conn, q, "python_major", version), response)


def python_minor(
    q: StatsQueryDep, conn: ConnectionDep, response: Response, version: VersionFilter = None
) -> Response:
    """Daily downloads per Python minor version (e.g. 3.12)."""
    return sorted_json(compat.breakdown_downloads(conn, q, "python_minor", version), response)


def system(
    q: StatsQueryDep, conn: ConnectionDep, response: Response, os: OsFilter = None
) -> Response:
    """Daily downloads per operating system; ``os`` matches case-insensitively."""
    return sorted_json(compat.breakdown_downloads(conn, q, "system", os), response)


def installer(
    q: StatsQueryDep, conn: ConnectionDep, response: Response, name: VersionFilter = None
) -> Response:
    """Daily downloads per installer (pip, uv, poetry, ...)."""
    return sorted_json(compat.breakdown_downloads(conn, q, "installer", name), response)


def versions(
    q: StatsQueryDep, conn: ConnectionDep, response: Response, version: VersionFilter = None
) -> Response:
    """Daily downloads per released version of the package."""
    return sorted_json(compat.breakdown_downloads(conn, q, "version", version), response)


def summary(q: StatsQueryDep, conn: ConnectionDep, response: Response) -> Response:
    """Totals per breakdown over the range (overall counted once)."""
    return sorted_json(compat.summary(conn, q), response)


ROUTES: dict[str, Callable[..., Response]] = {
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
