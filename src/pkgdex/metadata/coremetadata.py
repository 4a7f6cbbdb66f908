"""PEP 658/714 core metadata on the Simple API, from the upstream's own PEP 691 page.

pypi.org's JSON API, which the pull-through stores, does not say which files have their core
metadata served beside them (``<file URL>.metadata``); its Simple API does, with the hashes of
that metadata. Installers resolve with it instead of downloading every candidate wheel, so a
project's Simple page carries it:

- when a stored project's Simple page is made while some of its files' core metadata is
  unknown (NULL), the upstream's PEP 691 page for the project is asked for once. Each file it
  lists with the same sha256 takes the upstream's value (hashes, or true); every other file
  takes false: asked, and there is none. The project's revision changes, so every process
  renders the page again;
- a refresh carries the known values over to the same files (``services``), so the upstream's
  page is asked for again only when a refresh brings new files;
- when the page cannot be had (offline, the upstream failing, or a body that is not a PEP 691
  page), nothing is written and the page is answered with what is stored; that revision is
  not asked about again.

The JSON API never shows core metadata, as pypi.org's does not.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from pkgdex.metadata import services
from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.queries import FOUND, FileRow, ProjectState
from pkgdex.metadata.upstream import UpstreamError, UpstreamNotFound

log = logging.getLogger(__name__)

ACCEPT = "application/vnd.pypi.simple.v1+json"
_ASKED = "core-metadata-asked"  # memory key: this revision's unknowns were asked about

HashName = Annotated[str, Meta(pattern="^[a-z0-9_]{1,32}$")]
HexDigest = Annotated[str, Meta(pattern="^[0-9a-f]{1,256}$")]
Hashes = dict[HashName, HexDigest]
CoreMetadata = bool | dict[str, str]  # as stored and rendered: hashes, true, or false


class PageFile(Struct):
    """A file as a PEP 691 page lists it; only what core metadata needs is read."""

    filename: Annotated[str, Meta(min_length=1, max_length=512)]
    hashes: Hashes = {}
    core_metadata: bool | Hashes | UnsetType = msgspec.field(name="core-metadata", default=UNSET)
    # PEP 658's name, which pages written before PEP 714 carry alone.
    dist_info_metadata: bool | Hashes | UnsetType = msgspec.field(
        name="data-dist-info-metadata", default=UNSET
    )


class PageMeta(Struct):
    api_version: str = msgspec.field(name="api-version")


class Page(Struct):
    meta: PageMeta
    files: list[PageFile]


_decoder = msgspec.json.Decoder(Page)
Listed = dict[str, tuple[str | None, CoreMetadata]]  # filename -> (sha256, core metadata)


def read_page(body: bytes, url: str) -> Listed:
    """The core metadata of each file that the PEP 691 page ``body`` (from ``url``) lists, or
    the 502 of an upstream that sent something else."""
    try:
        page = _decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        message = f"the upstream's Simple page {url} is not a PEP 691 page: {exc}"
        raise UpstreamError(502, "upstream_malformed", message) from exc
    if page.meta.api_version.split(".")[0] != "1":  # PEP 691: refuse another major version
        message = f"the upstream's Simple page {url} has API version {page.meta.api_version}"
        raise UpstreamError(502, "upstream_malformed", message)
    return {f.filename: (f.hashes.get("sha256"), _value(f)) for f in page.files}


def _value(f: PageFile) -> CoreMetadata:
    given = f.core_metadata if f.core_metadata is not UNSET else f.dist_info_metadata
    if isinstance(given, UnsetType) or given == {}:
        return False
    return given


def values_for(files: Iterable[FileRow], listed: Listed) -> dict[str, CoreMetadata]:
    """filename -> core metadata, for each of ``files`` whose core metadata is unknown: the
    upstream's value for a file it lists with the same sha256 (or without one), else false."""
    values: dict[str, CoreMetadata] = {}
    for f in files:
        if f.core_metadata is not None:
            continue
        sha256, value = listed.get(f.filename, (None, False))
        same = sha256 is None or f.sha256 is None or sha256 == f.sha256
        values[f.filename] = value if same else False
    return values


def complete(cache: PyPICache, state: ProjectState) -> ProjectState:
    """``state``, or the new state of the project once the core metadata its files lacked was
    asked of the upstream and stored. Never raises for the upstream: without an answer from
    it, the project stays as stored."""
    if cache.offline or cache.upstream_resting():
        return state
    stored = cache.stored_now(state)  # a miss answered just before: its rows are needed
    if stored is None:
        return state
    asked = (stored.name, stored.revision, _ASKED)
    if cache.memory.get(asked) is not None or not _unknown(cache, stored):
        return stored
    try:
        return cache.flight.do(f"pypi-core-metadata:{stored.name}", lambda: _ask(cache, stored))
    except (UpstreamError, UpstreamNotFound) as exc:
        log.warning("no core metadata for %s from the upstream: %s", stored.name, exc)
        cache.memory.put(asked, True, _size)
        return stored


def _unknown(cache: PyPICache, state: ProjectState) -> list[FileRow]:
    view = cache.view(state)
    return [f for r in view.releases for f in r.files if f.core_metadata is None]


def _ask(cache: PyPICache, seen: ProjectState) -> ProjectState:
    """Inside the flight: ask the upstream unless another caller (or process) just did."""
    state = cache.read_state(seen.name)
    if state is None or state.status != FOUND:
        return seen
    if state.revision != seen.revision:  # completed meanwhile, or refreshed: judged anew
        return state
    unknown = _unknown(cache, state)
    if not unknown:
        return state
    url = f"{cache.base_url}/simple/{quote(state.name)}/"
    fetched = cache.upstream.get_bytes(url, headers={"Accept": ACCEPT})
    values = values_for(unknown, read_page(fetched.body, url))
    with cache.engine.begin() as conn:
        services.add_core_metadata(conn, state.id, values)
    return cache.reread(state.name)


def _size(_value: Any) -> int:
    return 100
