"""HTTP responses of the PyPI surfaces, with pypi.org's headers, validators and error shapes."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from pkgdex.afteranswer import collecting, later, waiting
from pkgdex.errors import ApiError
from pkgdex.metadata.answers import Answer, Redirect
from pkgdex.metadata.cache import NotFound
from pkgdex.metadata.pullthrough import freshness_headers
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
# An HTML Simple page is links and nothing else: the files' URLs and texts are the upstream's,
# so whatever one of them holds (a ``javascript:`` URL) may run nothing, load nothing and not
# be framed. Every answer says its type is the one it declares, as warehouse's do.
HTML_POLICY = {
    "Content-Security-Policy": "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"
}
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
NOT_FOUND_BODY = b'{"message": "Not Found"}'
JSON_API_CACHE = "max-age=900, public"
SIMPLE_CACHE = "max-age=600, public"
GZIP_MIN_BYTES = 1024  # below about a packet, compressing saves nothing


def answer(
    request: Request,
    make: Callable[[], Answer | Redirect],
    *,
    media_type: str = "application/json",
    cache_control: str = JSON_API_CACHE,
    vary: str | None = None,
) -> Response:
    """Run ``make`` and turn its outcome (or its failure) into the PyPI-shaped response; work
    ``make`` leaves for later starts once the response has been sent."""
    with collecting() as after:
        try:
            response = _answer(request, make, media_type, cache_control, vary)
        except Exception:
            after.run()
            raise
    return after.after(response)


def _answer(
    request: Request,
    make: Callable[[], Answer | Redirect],
    media_type: str,
    cache_control: str,
    vary: str | None,
) -> Response:
    try:
        outcome = make()
    except NotFound:
        return not_found()
    except UpstreamError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc
    if isinstance(outcome, Redirect):
        return moved(request, outcome.location, outcome.status, CORS_HEADERS)
    return respond(request, outcome, media_type, cache_control, vary)


def moved(
    request: Request, path: str, status: int = 301, headers: dict[str, str] | None = None
) -> Response:
    """A redirect to ``path`` that keeps the request's query string, as pypi.org's do
    (``?format=`` chooses the Simple API's form)."""
    query = request.url.query
    location = f"{path}?{query}" if query else path
    return Response(status_code=status, headers={**(headers or {}), "Location": location})


async def answer_fast(
    request: Request,
    cached: Callable[[], Answer | None],
    make: Callable[[], Answer | Redirect],
    *,
    media_type: str = "application/json",
    cache_control: str = JSON_API_CACHE,
    vary: str | None = None,
) -> Response:
    """Answer from memory on the event loop when ``cached`` can; otherwise run the full
    path (database reads, upstream calls) in the thread pool."""
    outcome = cached()
    if outcome is not None:
        with collecting() as after:  # a first gzip is made after the answer, off the loop
            response = respond(request, outcome, media_type, cache_control, vary)
        return after.after(response)
    return await run_in_threadpool(
        answer,
        request,
        make,
        media_type=media_type,
        cache_control=cache_control,
        vary=vary,
    )


def respond(
    request: Request, outcome: Answer, media_type: str, cache_control: str, vary: str | None
) -> Response:
    rendered = outcome.rendered
    compress = len(rendered.body) >= GZIP_MIN_BYTES and accepts_gzip(request)
    if compress and not rendered.has_gzip and waiting() is not None:
        # Not compressed yet: compressing 700 KiB at level 6 takes 7 ms on a quiet host, more
        # than a miss's own work, and on the event loop it would hold up every other request
        # (it is made in a thread after the answer, where zlib lets go of the GIL). This answer
        # goes out as it is (a representation of its own, with its own ETag) and the gzip
        # bytes, kept with the rendered answer, are made after it for the requests that follow.
        compress = False
        if rendered.claim_gzip():
            later(rendered.gzipped)
    headers = {
        **CORS_HEADERS,
        "Cache-Control": cache_control,
        "ETag": rendered.gzip_etag if compress else rendered.etag,
        "Vary": f"{vary}, Accept-Encoding" if vary else "Accept-Encoding",
        "X-PyPI-Last-Serial": str(rendered.last_serial),
        **NOSNIFF,
    }
    if "html" in media_type:
        headers.update(HTML_POLICY)
    if outcome.fetched_at is not None:  # every answer but the project list, which is live
        headers.update(freshness_headers(outcome.fetched_at, outcome.stale))
    validators = request.headers.get("if-none-match")
    for etag in (rendered.etag, rendered.gzip_etag):
        if etag_matches(validators, etag):
            # The representation the client holds is still current: the 304 names that one,
            # so a cache does not relabel it with the other coding's ETag.
            return Response(status_code=304, headers={**headers, "ETag": etag})
    if compress:
        headers["Content-Encoding"] = "gzip"
        return Response(rendered.gzipped(), media_type=media_type, headers=headers)
    return Response(rendered.body, media_type=media_type, headers=headers)


def accepts_gzip(request: Request) -> bool:
    for coding in request.headers.get("accept-encoding", "").lower().split(","):
        name, _, params = coding.partition(";")
        if name.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


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
