"""HTTP answers of the npm registry surface: content negotiation, ETags, npm's error shapes."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.responses import JSONResponse

from pkgdex.errors import ApiError, ResponseError
from pkgdex.metadata.pullthrough import STALE_HEADERS
from pkgdex.metadata.upstream import UpstreamError
from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry.render import (
    ABBREVIATED_TYPE,
    FULL_TYPE,
    NOT_FOUND,
    abbreviate_version,
    dumps,
    version_not_found,
)
from pkgdex.npmregistry.services import Answer

CACHE_CONTROL = "public, max-age=300"


def wants_abbreviated(request: Request) -> bool:
    """Whether the client asked for the install-v1 document (with a q above 0)."""
    for part in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == ABBREVIATED_TYPE:
            return not any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00") for p in params)
    return False


def packument_response(request: Request, answer: Answer) -> Response:
    stored, abbreviated = answer.stored, wants_abbreviated(request)
    body = stored.abbreviated if abbreviated else stored.doc
    assert body is not None and stored.digest is not None  # a served answer has documents
    variant = "install-v1" if abbreviated else "full"
    return _cached(request, answer, body, _etag(stored.digest, variant), abbreviated)


def version_response(request: Request, answer: Answer, version_or_tag: str) -> Response:
    assert answer.stored.doc is not None and answer.stored.digest is not None
    manifest = pk.resolve_version(orjson.loads(answer.stored.doc), version_or_tag)
    if manifest is None:
        raise ResponseError(JSONResponse(version_not_found(version_or_tag), status_code=404))
    abbreviated = wants_abbreviated(request)
    chosen = abbreviate_version(manifest) if abbreviated else manifest
    variant = f"{'install-v1' if abbreviated else 'full'}:{manifest.get('version')}"
    etag = _etag(answer.stored.digest, variant)
    return _cached(request, answer, dumps(chosen), etag, abbreviated)


def _cached(
    request: Request, answer: Answer, body: bytes, etag: str, abbreviated: bool
) -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept"}
    if answer.stale:
        headers.update(STALE_HEADERS)
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    media_type = ABBREVIATED_TYPE if abbreviated else FULL_TYPE
    return Response(body, media_type=media_type, headers=headers)


def _etag(digest: str, variant: str) -> str:
    return '"' + hashlib.sha256(f"{digest}/{variant}".encode()).hexdigest()[:32] + '"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def not_found() -> ResponseError:
    return ResponseError(JSONResponse(NOT_FOUND, status_code=404))


def bad_request(message: str) -> ResponseError:
    return ResponseError(JSONResponse({"error": message}, status_code=400))


def upstream_failed(exc: UpstreamError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message)


def json_response(content: dict[str, Any]) -> Response:
    return Response(dumps(content), media_type=FULL_TYPE)
