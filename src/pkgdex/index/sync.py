"""Reading the registries' own feeds for ``pkgdex index sync``.

PyPI: the whole Simple API index in PEP 691 JSON. npm: the ``_changes`` replication feed,
page by page from a stored sequence. Upstream trouble of any kind (offline, HTTP errors,
oversized or malformed answers) becomes a ``SourceError``; nothing is written here.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO, NamedTuple

import httpx
import orjson

from pkgdex.config import Settings
from pkgdex.index.sources import SourceError

PEP691 = "application/vnd.pypi.simple.v1+json"
CHANGES_PAGE = 1000


class Change(NamedTuple):
    name: str
    deleted: bool


class ChangesPage(NamedTuple):
    changes: list[Change]
    last_seq: str


def pypi_index(settings: Settings) -> tuple[str, IO[bytes]]:
    """The PEP 691 project list of the configured PyPI, as (URL, stream)."""
    url = settings.pypi_upstream.rstrip("/") + "/simple/"
    body = fetch(settings, url, None, PEP691)
    return url, io.BufferedReader(io.BytesIO(body))


def npm_changes(settings: Settings, since: str) -> Iterator[ChangesPage]:
    """Pages of the npm ``_changes`` feed after sequence ``since``, until it has no more."""
    url = settings.npm_changes_upstream.rstrip("/") + "/_changes"
    while True:
        body = fetch(settings, url, {"since": since, "limit": str(CHANGES_PAGE)})
        page = parse_changes(body, url)
        if not page.changes:
            return
        yield page
        if page.last_seq == since:
            return
        since = page.last_seq


def parse_changes(body: bytes, url: str) -> ChangesPage:
    try:
        document = orjson.loads(body)
        results = document["results"]
        changes = [Change(str(r["id"]), bool(r.get("deleted", False))) for r in results]
        return ChangesPage(changes, str(document["last_seq"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise SourceError(
            f"{url}: not a _changes answer ({exc.__class__.__name__}: {exc})"
        ) from exc


def fetch(
    settings: Settings, url: str, params: dict[str, str] | None, accept: str = "application/json"
) -> bytes:
    """GET ``url`` within the configured timeout and size limit."""
    if settings.offline:
        raise SourceError(f"pkgdex is offline (PKGDEX_OFFLINE), not calling {url}")
    try:
        with httpx.stream(
            "GET",
            url,
            params=params,
            headers={"Accept": accept},
            timeout=settings.upstream_timeout_seconds,
            follow_redirects=True,
        ) as response:
            if response.status_code != 200:
                raise SourceError(f"{url}: upstream answered HTTP {response.status_code}")
            return _read_limited(response, settings.upstream_max_bytes, url)
    except httpx.HTTPError as exc:
        raise SourceError(f"{url}: {exc}") from exc


def _read_limited(response: httpx.Response, limit: int, url: str) -> bytes:
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise SourceError(f"{url}: answer larger than {limit} bytes")
    return bytes(body)
