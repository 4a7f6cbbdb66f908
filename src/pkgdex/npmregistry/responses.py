"""HTTP answers of the npm registry surface: content negotiation, ETags, npm's error shapes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from pkgdex.errors import ResponseError
from pkgdex.metadata.pullthrough import freshness_headers
from pkgdex.metadata.render import gzip_bytes, gzip_etag_of
from pkgdex.metadata.responses import GZIP_MIN_BYTES, accepts_gzip, etag_matches
from pkgdex.metadata.upstream import UpstreamError
from pkgdex.npmregistry import decoded, parts
from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry.memory import AnswerMemory
from pkgdex.npmregistry.queries import Body, StoredPackument
from pkgdex.npmregistry.render import (
    ABBREVIATED_TYPE,
    FULL_TYPE,
    NOT_FOUND,
    dumps,
    version_not_found,
)
from pkgdex.npmregistry.services import Answer, NpmRegistry, PackageNotFoundError

CACHE_CONTROL = "public, max-age=300"
VARY = "Accept, Accept-Encoding"
COMPRESSED = ("doc", "abbreviated")  # the answers worth compressing: whole packuments
GZIPPED = "+gzip"  # the memory keeps a body's gzip under its kind with this suffix


def wants_abbreviated(request: Request) -> bool:
    """Whether the client asked for the install-v1 document (with a q above 0)."""
    for part in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == ABBREVIATED_TYPE:
            return not any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00") for p in params)
    return False


@dataclass(frozen=True)
class PackageLookup:
    """Finds a package's stored answer for a route, turning failures into npm's responses."""

    registry: NpmRegistry
    name: str

    def __call__(self, body: Body) -> Answer:
        if not pk.valid_name(self.name):
            raise bad_request(f"Invalid package name: {self.name[:300]}")
        try:
            return self.registry.packument(self.name, body)
        except PackageNotFoundError:
            raise not_found() from None
        except UpstreamError as exc:
            raise upstream_failed(exc) from exc


def from_memory(request: Request, lookup: PackageLookup, version: str | None) -> Response | None:
    """The answer (or 304) this process gave lately for the same row, made without a thread
    or a database read; None when the full path must answer."""
    memory = lookup.registry.memory
    if memory is None:
        return None
    abbreviated = wants_abbreviated(request)
    kind = _kind(abbreviated, version)
    recalled = memory.recall(lookup.name, kind)
    if recalled is None or not lookup.registry.servable(recalled[0]):
        return None
    answer = Answer(recalled[0])
    etag = _etag(answer, kind)
    if_none_match = request.headers.get("if-none-match", "")
    if version is not None and _wildcard(if_none_match):
        return None  # "*" is a 304 only for a version that exists: the full path knows
    if (matched := _matching(if_none_match, etag)) is not None:
        return Response(status_code=304, headers=_headers(answer, matched))
    body = recalled[1]
    return None if body is None else _ok(request, lookup, answer, kind, body)


def packument_response(request: Request, lookup: PackageLookup) -> Response:
    """The full or install-v1 packument; a matching If-None-Match never reads the document."""
    abbreviated = wants_abbreviated(request)
    variant: Literal["doc", "abbreviated"] = "abbreviated" if abbreviated else "doc"
    if (unchanged := _not_modified(request, lookup, variant)) is not None:
        return unchanged
    answer = lookup(variant)
    assert answer.stored.body is not None  # a served 200 row has its documents
    _remember(lookup, answer, variant, answer.stored.body)
    return _ok(request, lookup, answer, variant, answer.stored.body)


def version_response(request: Request, lookup: PackageLookup, version_or_tag: str) -> Response:
    """One version (or the version a dist-tag points at), full or install-v1."""
    abbreviated = wants_abbreviated(request)
    variant = _kind(abbreviated, version_or_tag)
    wildcard = _wildcard(request.headers.get("if-none-match", ""))
    if not wildcard and (unchanged := _not_modified(request, lookup, variant)) is not None:
        return unchanged
    answer = lookup("doc")
    assert answer.stored.body is not None
    # The version's JSON as stored, the rest of the packument skipped over, not parsed.
    found = parts.version_json(answer.stored.body, version_or_tag)
    if found is None:
        raise ResponseError(JSONResponse(version_not_found(version_or_tag), status_code=404))
    if wildcard:  # the version exists: "*" matches it (RFC 9110, If-None-Match)
        return Response(status_code=304, headers=_headers(answer, _etag(answer, variant)))
    try:
        body = decoded.abbreviated_version(found.json) if abbreviated else found.json
    except pk.InvalidPackumentError as exc:
        raise npm_error(502, f"npm upstream: {exc}") from exc
    # Versions and tags are few; ranges are as many as clients care to write, and each one
    # remembered would push other packages' answers out of the memory.
    _remember(lookup, answer, variant, None if found.by_range else body)
    return _ok(request, lookup, answer, variant, body)


def dist_tags_response(lookup: PackageLookup) -> Response:
    """``npm dist-tag ls``: the package's dist-tags alone."""
    answer = lookup("doc")
    assert answer.stored.body is not None
    headers = {"Cache-Control": CACHE_CONTROL, **_freshness(answer)}
    body = dumps(parts.dist_tags(answer.stored.body))
    return Response(body, media_type=FULL_TYPE, headers=headers)


def tarball_redirect(lookup: PackageLookup, file: str) -> Response:
    """A tarball, as npm asks pkgdex for it: pkgdex hosts none, so the answer is a redirect
    to the upstream's URL for it (``dist.tarball``).

    npm asks its configured registry for tarballs the packument places on registry.npmjs.org
    (its ``replace-registry-host`` default): with pkgdex as the registry, installs from the
    real upstream come here."""
    basename = lookup.name.rsplit("/", 1)[-1]
    version = file.removeprefix(f"{basename}-").removesuffix(".tgz")
    if not file.endswith(".tgz") or len(version) + len(basename) + 5 != len(file):
        raise not_found()
    answer = lookup("doc")
    assert answer.stored.body is not None
    url = parts.tarball_url(answer.stored.body, version)
    if url is None or not _names_file(url, file):
        raise not_found()
    headers = {"Location": url, "Cache-Control": CACHE_CONTROL, **_freshness(answer)}
    return Response(status_code=302, headers=headers)


def _names_file(url: str, file: str) -> bool:
    """Whether ``url`` is an http(s) URL of ``file``: a redirect never goes elsewhere. Only
    visible ASCII can be a ``Location``: a line break would end the header, and ``urlsplit``
    drops the very characters it would hide behind."""
    if not (url.isascii() and url.isprintable()) or " " in url:
        return False
    parsed = urlsplit(url)
    last = unquote(parsed.path.rsplit("/", 1)[-1])
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and last == file


def _kind(abbreviated: bool, version: str | None) -> str:
    """What an answer is of a row: the ETag's variant and the memory's key."""
    form = "abbreviated" if abbreviated else "doc"
    return form if version is None else f"{form}/{version}"


def _remember(lookup: PackageLookup, answer: Answer, kind: str, body: bytes | None) -> None:
    # Only rows read from the store: a fetch just made may not be stored yet (or ever).
    memory = lookup.registry.memory
    if memory is not None and answer.fetched is None and not answer.stale:
        memory.remember(answer.stored, kind, body)


def _not_modified(request: Request, lookup: PackageLookup, variant: str) -> Response | None:
    """A 304 when the client's ETag still matches, found without reading the document."""
    if_none_match = request.headers.get("if-none-match")
    if not if_none_match:
        return None
    answer = lookup(None)
    _remember(lookup, answer, variant, None)
    matched = _matching(if_none_match, _etag(answer, variant))
    if matched is None:
        return None
    return Response(status_code=304, headers=_headers(answer, matched))


def _headers(answer: Answer, etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": VARY, **_freshness(answer)}


def _freshness(answer: Answer) -> dict[str, str]:
    return freshness_headers(answer.stored.fetched_at, answer.stale)


def _ok(
    request: Request, lookup: PackageLookup, answer: Answer, kind: str, body: bytes
) -> Response:
    """``body`` (the answer of ``kind``), or its gzip when the client takes one and it is made.

    A packument's gzip is made after the first answer that could have used it (compressing
    416 KiB takes longer than answering it) and kept in the memory with the row, as a
    representation of its own: its own ETag, and ``Vary: Accept-Encoding``."""
    media_type = ABBREVIATED_TYPE if kind.startswith("abbreviated") else FULL_TYPE
    etag = _etag(answer, kind)
    memory = lookup.registry.memory
    if memory is None or not _compressible(request, kind, body):
        return Response(body, media_type=media_type, headers=_headers(answer, etag))
    if memory.body(answer.stored, kind) is None:  # a fetch just made: not remembered
        return Response(body, media_type=media_type, headers=_headers(answer, etag))
    gzipped = memory.body(answer.stored, kind + GZIPPED)
    if gzipped is None:
        if memory.claim(answer.stored, kind + GZIPPED):
            lookup.registry.later(_compress, memory, answer.stored, kind, body)
        return Response(body, media_type=media_type, headers=_headers(answer, etag))
    headers = {**_headers(answer, gzip_etag_of(etag)), "Content-Encoding": "gzip"}
    return Response(gzipped, media_type=media_type, headers=headers)


def _compressible(request: Request, kind: str, body: bytes) -> bool:
    return kind in COMPRESSED and len(body) >= GZIP_MIN_BYTES and accepts_gzip(request)


def _compress(memory: AnswerMemory, stored: StoredPackument, kind: str, body: bytes) -> None:
    try:
        gzipped = gzip_bytes(body)
    except BaseException:  # out of memory, or cancelled: the next answer may claim it again
        memory.unclaim(stored, kind + GZIPPED)
        raise
    memory.add_body(stored, kind + GZIPPED, gzipped)


def _etag(answer: Answer, variant: str) -> str:
    # The digest changes with the document, so it also covers what a dist-tag points at.
    seed = f"{answer.stored.digest}/{variant}".encode()
    return '"' + hashlib.sha256(seed).hexdigest()[:32] + '"'


def _matching(if_none_match: str, etag: str) -> str | None:
    """Which of the answer's ETags (``etag``, or its gzip's) ``If-None-Match`` names, if any:
    a 304 names the representation the client holds."""
    return next(
        (tag for tag in (etag, gzip_etag_of(etag)) if etag_matches(if_none_match, tag)), None
    )


def _wildcard(if_none_match: str) -> bool:
    return "*" in (t.strip() for t in if_none_match.split(","))


def not_found() -> ResponseError:
    return ResponseError(JSONResponse(NOT_FOUND, status_code=404))


def npm_error(status: int, message: str) -> ResponseError:
    """An error in npm's shape, for a route to raise."""
    return ResponseError(error_shape(status, message, {}))


def error_shape(status: int, message: str, headers: dict[str, str]) -> JSONResponse:
    """npm's error shape: npm prints the ``error`` string after the status (an object would
    show as "[object Object]"). Also the shape of the errors no route raises (a method the
    registry does not take, an unexpected failure: ``errors.use_shape_for``)."""
    if status == 405:
        message = "pkgdex serves npm's registry read API only (GET and HEAD)"
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def upstream_failed(exc: UpstreamError) -> ResponseError:
    """An upstream failure with nothing cached."""
    return npm_error(exc.status, exc.message)


def bad_request(message: str) -> ResponseError:
    return npm_error(400, message)


def json_response(content: dict[str, Any]) -> Response:
    return Response(dumps(content), media_type=FULL_TYPE)
