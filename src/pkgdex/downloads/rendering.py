"""Responses of the statistics APIs: JSON with sorted keys, as the original's Flask jsonify.

Handlers return their own Response (so bodies skip FastAPI's slow generic encoder); headers
that dependencies set on the injected response (rate limits, data freshness) are carried over.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from limits import RateLimitItem

from pkgdex.errors import error_body, request_id

SKIPPED_HEADERS = frozenset({"content-length", "content-type"})


def carry_headers(target: Response, source: Response) -> Response:
    for name, value in source.headers.items():
        if name not in SKIPPED_HEADERS:
            target.headers.append(name, value)
    return target


def sorted_json(body: Any, source: Response, status: int = 200) -> Response:
    """``body`` as JSON with sorted keys, plus the headers collected on ``source``."""
    content = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return carry_headers(Response(content, status, media_type="application/json"), source)


def binary(content: bytes, media_type: str, source: Response, max_age: int = 3600) -> Response:
    out = Response(content, media_type=media_type)
    out.headers["Cache-Control"] = f"public, max-age={max_age}"
    return carry_headers(out, source)


def rate_limited(request: Request, item: RateLimitItem, headers: dict[str, str]) -> Response:
    """The 429 of the /api/ and /badge/ routes, in pkgdex's error envelope."""
    message = f"rate limit exceeded ({item}); retry after the Retry-After seconds"
    body = error_body("rate_limited", message, request_id(request))
    return JSONResponse(body, status_code=429, headers=headers)
