"""The upstream's PEP 691 page of a project, read for what pkgdex learns from it: each file's
core metadata (PEP 658/714), matched to the stored files by name and sha256
(``coremetadata.py`` decides when it is asked for and where the values go), and, when it
lists every field pkgdex's page shows, that whole page: a project's first page (never seen,
or imported) is answered from it (``firstpage.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import chain
from typing import Annotated, NamedTuple

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from pkgdex.metadata.models import BIGINT_MAX, VERSION_MAX_LENGTH
from pkgdex.metadata.queries import CoreMetadata
from pkgdex.metadata.upstream import UpstreamError
from pkgdex.metadata.views import Unknown

# Each hash pkgdex passes on: a name of up to 32 and a hex digest of up to 256 characters.
# Checked here for core metadata only, rather than as a msgspec pattern on every hash of the
# page, which took most of the time of reading 1,000 files; the page's own ``hashes`` are only
# compared, never passed on. Names and digests are each checked in one pass over them all,
# joined by newlines (one inside a value shows in the count), for their characters alone; the
# lengths are counted apart. A pattern that also counted each one's length took a third of
# the time of reading the page.
_NAME_TEXT = re.compile(r"[a-z0-9_\n]*").fullmatch
_HEX_TEXT = re.compile(r"[0-9a-f\n]*").fullmatch
_NAME_MAX, _DIGEST_MAX = 32, 256


class PageFile(Struct, gc=False):
    """A file as a PEP 691 page lists it; only what core metadata needs is read."""

    filename: Annotated[str, Meta(min_length=1, max_length=512)]
    hashes: dict[str, str] = {}
    core_metadata: CoreMetadata | UnsetType = msgspec.field(name="core-metadata", default=UNSET)
    # PEP 658's name, which pages written before PEP 714 carry alone.
    dist_info_metadata: CoreMetadata | UnsetType = msgspec.field(
        name="data-dist-info-metadata", default=UNSET
    )


class WholeFile(PageFile, kw_only=True, gc=False):
    """A file with every field of pkgdex's own entry (``simple._Entry``), as pypi.org lists
    them; the columns' limits are the stored files' (``models``)."""

    requires_python: str | None = msgspec.field(name="requires-python")
    size: Annotated[int, Meta(ge=0, le=BIGINT_MAX)] | None
    upload_time: str | None = msgspec.field(name="upload-time")  # its form: ``firstpage``
    url: Annotated[str, Meta(min_length=1)]
    yanked: str | bool


class PageMeta(Struct):
    api_version: str = msgspec.field(name="api-version")


class WholeMeta(PageMeta, kw_only=True):
    last_serial: Annotated[int, Meta(ge=0, le=BIGINT_MAX)] = msgspec.field(name="_last-serial")


class Page(Struct):
    meta: PageMeta
    files: list[PageFile]


class WholePage(Struct):
    meta: WholeMeta
    files: list[WholeFile]
    name: str
    versions: list[Annotated[str, Meta(min_length=1, max_length=VERSION_MAX_LENGTH)]]


_decoder = msgspec.json.Decoder(Page)
_whole_decoder = msgspec.json.Decoder(WholePage)
Listed = dict[str, tuple[str | None, CoreMetadata]]  # filename -> (sha256, core metadata)


class UpstreamPage(NamedTuple):
    """The upstream's page as read: each file's core metadata; the whole page when it lists
    every field pkgdex's page shows (else None), and its bytes."""

    listed: Listed
    whole: WholePage | None
    body: bytes


def read_page(body: bytes, url: str, *, whole: bool = False) -> UpstreamPage:
    """The PEP 691 page ``body`` (from ``url``) and the core metadata of each file it lists,
    or the 502 of an upstream that sent something else; ``whole``: the whole page too, when
    it lists every field pkgdex's page shows (else only what core metadata needs is read: a
    third less to decode)."""
    page = _whole(body, url) if whole else None
    return _listed(page if page is not None else _lenient(body, url), body, url)


def _whole(body: bytes, url: str) -> WholePage | None:
    try:
        return _whole_decoder.decode(body)
    except msgspec.ValidationError:
        return None  # a field missing or of another form: read again, leniently
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _unusable(url, str(exc)) from exc


def _listed(page: Page | WholePage, body: bytes, url: str) -> UpstreamPage:
    if page.meta.api_version.split(".")[0] != "1":  # PEP 691: refuse another major version
        raise _unusable(url, f"API version {page.meta.api_version}")
    listed = {f.filename: (f.hashes.get("sha256"), core_metadata_of(f)) for f in page.files}
    hashes = [value for _, value in listed.values() if isinstance(value, dict)]
    if not _hashes_ok(hashes):
        bad = next(value for value in hashes if not _hashes_ok([value]))
        raise _unusable(url, f"core metadata hashes {bad!r:.200}")
    return UpstreamPage(listed, page if isinstance(page, WholePage) else None, body)


def core_metadata_of(f: PageFile) -> CoreMetadata:
    """The file's core metadata under either name; none, or ``{}``, is false (UNSET too)."""
    return (f.core_metadata if f.core_metadata is not UNSET else f.dist_info_metadata) or False


def _lenient(body: bytes, url: str) -> Page:
    try:
        return _decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError) as exc:
        raise _unusable(url, str(exc)) from exc


def _hashes_ok(hashes: list[dict[str, str]]) -> bool:
    names = list(chain.from_iterable(hashes))
    digests = list(chain.from_iterable(map(dict.values, hashes)))
    return _each_matches(_NAME_TEXT, names, _NAME_MAX) and _each_matches(
        _HEX_TEXT, digests, _DIGEST_MAX
    )


def _each_matches(text: Callable[[str], object], items: list[str], longest: int) -> bool:
    """Whether each of ``items`` is 1 to ``longest`` characters that ``text`` allows."""
    if not items:
        return True
    joined = "\n".join(items)
    return (
        joined.count("\n") == len(items) - 1
        and min(map(len, items)) > 0
        and max(map(len, items)) <= longest
        and text(joined) is not None
    )


def _unusable(url: str, why: str) -> UpstreamError:
    message = f"the upstream's Simple page {url} is not a usable PEP 691 page: {why}"
    return UpstreamError(502, "upstream_malformed", message)


def values_for(unknown: Unknown, listed: Listed) -> dict[str, CoreMetadata]:
    """filename -> core metadata, for each file whose core metadata is ``unknown`` (name,
    sha256): the upstream's value for a file it lists with the same sha256 (or without one),
    else false."""
    values: dict[str, CoreMetadata] = {}
    for filename, ours in unknown:
        sha256, value = listed.get(filename, (None, False))
        same = sha256 is None or ours is None or sha256 == ours
        values[filename] = value if same else False
    return values
