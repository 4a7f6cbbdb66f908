"""``/pypistats-api/v1/...``: the marketplace-style API, every answer in its own envelope.

Parameters arrive as plain strings and are checked here, so that bad input answers in this
surface's envelope (``success: false``) rather than in pkgdex's native error shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from limits import RateLimitItem

from pkgdex.config import Settings
from pkgdex.deps import ConnectionDep
from pkgdex.downloads import marketplace
from pkgdex.downloads.marketplace import MarketError
from pkgdex.downloads.params import (
    COMPATIBLE_DAYS,
    FreshnessDep,
    PackageNameError,
    ParameterError,
    StatsQuery,
    build_stats_query,
)
from pkgdex.downloads.queries import Freshness
from pkgdex.downloads.rendering import carry_headers
from pkgdex.errors import request_id
from pkgdex.ratelimit import RateLimit

PREFIX = "/pypistats-api/v1"


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    content = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return Response(content, status, headers=headers, media_type="application/json")


def rate_limited(request: Request, item: RateLimitItem, headers: dict[str, str]) -> Response:
    message = f"rate limit exceeded ({item}); retry after the Retry-After seconds"
    body = marketplace.envelope(None, message, request_id(request), status="rate_limited")
    return _json(body, 429, headers)


def query(
    fresh: Freshness, package: str | None, limit: str | None = None, **params: str | None
) -> StatsQuery:
    """The request's StatsQuery; raises MarketError with a message naming the parameter.

    ``limit`` (overall only) sets the default range; shares cover the compatible 180 days.
    """
    if not package:
        raise MarketError(400, "invalid_package", "the package parameter is required")
    days = COMPATIBLE_DAYS
    if limit is not None:
        if not limit.isdigit() or not 1 <= int(limit) <= marketplace.OVERALL_MAX_DAYS:
            raise MarketError(422, "invalid_parameter", "limit must be a whole number 1-180")
        days = int(limit)
    try:
        return build_stats_query(package, fresh, params.get("start"), params.get("end"),
                                 params.get("ci"), default_days=days)  # fmt: skip
    except PackageNameError as exc:
        raise MarketError(400, "invalid_package", str(exc)) from None
    except ParameterError as exc:
        raise MarketError(422, "invalid_parameter", str(exc)) from None


def answer(
    request: Request, response: Response, build: Callable[[], dict[str, Any]], message: str
) -> Response:
    """Run ``build`` and wrap its result, or its MarketError, in the envelope."""
    rid = request_id(request)
    try:
        body, status = marketplace.envelope(build(), message, rid), 200
    except MarketError as exc:
        body = marketplace.envelope(None, exc.message, rid, status=exc.code)
        status = exc.status
    return carry_headers(_json(body, status), response)


def recent(
    request: Request, conn: ConnectionDep, fresh: FreshnessDep, response: Response,
    package: str | None = None, ci: str | None = None,
) -> Response:  # fmt: skip
    """Downloads over the latest day, week and month."""
    def build() -> dict[str, Any]:
        return marketplace.recent(conn, query(fresh, package, ci=ci))

    return answer(request, response, build, "recent downloads")


def overall(
    request: Request, conn: ConnectionDep, fresh: FreshnessDep, response: Response,
    package: str | None = None, limit: str | None = None, start: str | None = None,
    end: str | None = None, ci: str | None = None,
) -> Response:  # fmt: skip
    """Daily downloads (mirrors excluded) over the ``limit`` latest days."""
    def build() -> dict[str, Any]:
        days = limit if limit is not None else str(marketplace.OVERALL_DEFAULT_DAYS)
        q = query(fresh, package, days, start=start, end=end, ci=ci)
        return marketplace.overall(conn, q)

    return answer(request, response, build, "daily downloads")


def python(
    request: Request, conn: ConnectionDep, fresh: FreshnessDep, response: Response,
    package: str | None = None, start: str | None = None, end: str | None = None,
    ci: str | None = None,
) -> Response:  # fmt: skip
    """Downloads per Python minor version, largest first, with shares."""
    def build() -> dict[str, Any]:
        q = query(fresh, package, start=start, end=end, ci=ci)
        return marketplace.shares(conn, q, "python_minor")

    return answer(request, response, build, "downloads by Python version")


def system(
    request: Request, conn: ConnectionDep, fresh: FreshnessDep, response: Response,
    package: str | None = None, start: str | None = None, end: str | None = None,
    ci: str | None = None,
) -> Response:  # fmt: skip
    """Downloads per operating system, largest first, with shares."""
    def build() -> dict[str, Any]:
        q = query(fresh, package, start=start, end=end, ci=ci)
        return marketplace.shares(conn, q, "system")

    return answer(request, response, build, "downloads by operating system")


def meta(
    request: Request, conn: ConnectionDep, _fresh: FreshnessDep, response: Response
) -> Response:
    """The service, its endpoints and the status of its data."""
    return answer(request, response, lambda: marketplace.meta(conn), "service description")


def router(settings: Settings) -> APIRouter:
    limit = RateLimit("stats", settings.rate_limit_stats, rate_limited)
    api = APIRouter(prefix=PREFIX, tags=["downloads"], dependencies=[Depends(limit)])
    for handler in (recent, overall, python, system, meta):
        api.add_api_route(f"/{handler.__name__}", handler, methods=["GET"], response_class=Response)
    return api
