"""HTTP responses of the PyPI surfaces, with pypi.org's headers, validators and error shapes."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response

from pkgdex.errors import ApiError
from pkgdex.metadata.answers import Answer, Redirect
from pkgdex.metadata.cache import NotFound
from pkgdex.metadata.pullthrough import STALE_HEADERS
from pkgdex.metadata.upstream import UpstreamError

# warehouse.utils.cors._CORS_HEADERS: sent on every JSON API answer, 200, 301 and 404 alike.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": (
        "Content-Type, If-Match, If-Modified-Since, If-None-Match, If-Unmodified-Since"
    ),
    "Access-Control-Allow-Methods": "GET",
    "Access-Control-Max-Age": "86400",
    "Access-Control-Expose-Headers": "X-PyPI-Last-Serial",
}
NOT_FOUND_BODY = b'{"message": "Not Found"}'
JSON_API_CACHE = "max-age=900, public"
SIMPLE_CACHE = "max-age=600, public"


def answer(
    request: Request,
    make: Callable[[], Answer | Redirect],
    *,
    media_type: str = "application/json",
    cache_control: str = JSON_API_CACHE,
    vary: str | None = None,
) -> Response:
    """Run ``make`` and turn its outcome (or its failure) into the PyPI-shaped response."""
    try:
        outcome = make()
    except NotFound:
        return not_found()
    except UpstreamError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    if isinstance(outcome, Redirect):
        headers = {**CORS_HEADERS, "Location": outcome.location}
        return Response(status_code=outcome.status, headers=headers)
    headers = {
        **CORS_HEADERS,
        "Cache-Control": cache_control,
        "ETag": outcome.rendered.etag,
        "X-PyPI-Last-Serial": str(outcome.rendered.last_serial),
    }
    if vary:
        headers["Vary"] = vary
    if outcome.stale:
        headers.update(STALE_HEADERS)
    if etag_matches(request.headers.get("if-none-match"), outcome.rendered.etag):
        return Response(status_code=304, headers=headers)
    return Response(outcome.rendered.body, media_type=media_type, headers=headers)


def not_found() -> Response:
    return Response(
        NOT_FOUND_BODY, status_code=404, media_type="application/json", headers=CORS_HEADERS
    )


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison against an ``If-None-Match`` list."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == bare:
            return True
    return False
