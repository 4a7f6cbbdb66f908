"""``/pypistats-api/v1/...``: the marketplace-style API, every answer in its own envelope.

Parameters arrive as plain strings and are checked here, so that bad input answers in this
surface's envelope (``success: false``) rather than in pkgdex's native error shape.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request, Response
from limits import RateLimitItem
from sqlalchemy import Connection

from pkgdex.config import Settings
from pkgdex.downloads import marketplace
from pkgdex.downloads.context import run_with_data
from pkgdex.downloads.marketplace import MarketError
from pkgdex.downloads.params import (
    COMPATIBLE_DAYS,
    PackageNameError,
    ParameterError,
    StatsQuery,
    parse_stats_params,
    resolve,
)
from pkgdex.downloads.queries import Freshness
from pkgdex.downloads.rendering import carry_headers
from pkgdex.errors import request_id
from pkgdex.ratelimit import RateLimit
from pkgdex.routing import rest_of_path

PREFIX = "/pypistats-api/v1"
WHOLE_NUMBER = re.compile(r"[0-9]{1,4}")
OVERALL_MAX_DAYS = marketplace.OVERALL_MAX_DAYS
log = logging.getLogger(__name__)


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
        # str.isdigit() also accepts "²", which int() refuses: check ASCII digits only.
        if not WHOLE_NUMBER.fullmatch(limit) or not 1 <= int(limit) <= OVERALL_MAX_DAYS:
            raise MarketError(422, "invalid_parameter", "limit must be a whole number 1-180")
        days = int(limit)
    try:
        parsed = parse_stats_params(package, params.get("start"), params.get("end"),
                                    params.get("ci"))  # fmt: skip
        return resolve(parsed, fresh, days)
    except PackageNameError as exc:
        raise MarketError(400, "invalid_package", str(exc)) from None
    except ParameterError as exc:
        raise MarketError(422, "invalid_parameter", str(exc)) from None


Build = Callable[[Connection, Freshness], dict[str, Any]]


async def answer(request: Request, response: Response, build: Build, message: str) -> Response:
    """Run ``build`` and wrap its result, or its MarketError, in the envelope."""
    rid = request_id(request)

    def enveloped(conn: Connection, fresh: Freshness) -> Response:
        try:
            body, status = marketplace.envelope(build(conn, fresh), message, rid), 200
        except MarketError as exc:
            body = marketplace.envelope(None, exc.message, rid, status=exc.code)
            status = exc.status
        except Exception:  # this surface promises its envelope even for our own failures
            log.exception("unhandled error on %s", request.url.path)
            body = marketplace.envelope(None, "internal server error", rid, status="internal_error")
            status = 500
        return carry_headers(_json(body, status), response)

    return await run_with_data(request, response, enveloped)


async def recent(
    request: Request, response: Response, package: str | None = None, ci: str | None = None
) -> Response:
    """Downloads over the latest day, week and month."""
    return await answer(
        request,
        response,
        lambda conn, fresh: marketplace.recent(conn, query(fresh, package, ci=ci)),
        "recent downloads",
    )


async def overall(
    request: Request, response: Response, package: str | None = None,
    limit: str | None = None, start: str | None = None, end: str | None = None,
    ci: str | None = None,
) -> Response:  # fmt: skip
    """Daily downloads (mirrors excluded) over the ``limit`` latest days (default 30)."""
    days = limit if limit is not None else str(marketplace.OVERALL_DEFAULT_DAYS)
    return await answer(
        request,
        response,
        lambda conn, fresh: marketplace.overall(
            conn, query(fresh, package, days, start=start, end=end, ci=ci)
        ),
        "daily downloads",
    )


async def python(
    request: Request, response: Response, package: str | None = None,
    start: str | None = None, end: str | None = None, ci: str | None = None,
) -> Response:  # fmt: skip
    """Downloads per Python minor version, largest first, with shares."""
    return await answer(
        request,
        response,
        lambda conn, fresh: marketplace.shares(
            conn, query(fresh, package, start=start, end=end, ci=ci), "python_minor"
        ),
        "downloads by Python version",
    )


async def system(
    request: Request, response: Response, package: str | None = None,
    start: str | None = None, end: str | None = None, ci: str | None = None,
) -> Response:  # fmt: skip
    """Downloads per operating system, largest first, with shares."""
    return await answer(
        request,
        response,
        lambda conn, fresh: marketplace.shares(
            conn, query(fresh, package, start=start, end=end, ci=ci), "system"
        ),
        "downloads by operating system",
    )


async def meta(request: Request, response: Response) -> Response:
    """The service, its endpoints and the status of its data."""
    return await answer(
        request, response, lambda conn, _fresh: marketplace.meta(conn), "service description"
    )


async def unknown(request: Request, rest: str) -> Response:
    """Any other path under the prefix: a 404 in this surface's envelope."""
    names = ", ".join(path for path, _, _ in marketplace.ENDPOINTS)
    message = f"no endpoint {rest[:60]!r}; the endpoints are {names}"
    return _json(marketplace.envelope(None, message, request_id(request), status="not_found"), 404)


def router(settings: Settings) -> APIRouter:
    limit = RateLimit("stats", settings.rate_limit_stats, rate_limited)
    api = APIRouter(prefix=PREFIX, tags=["downloads-marketplace"], dependencies=[Depends(limit)])
    for handler in (recent, overall, python, system, meta):
        api.add_api_route(f"/{handler.__name__}", handler, methods=["GET"], response_class=Response)
    # last, so that it only catches what no endpoint above matched
    api.add_api_route(f"/{rest_of_path('rest')}", unknown, methods=["GET"], include_in_schema=False)
    return api
