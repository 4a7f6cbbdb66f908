"""The upstream's PEP 691 page of a project, read for what pkgdex learns from it: each file's
core metadata (PEP 658/714), matched to the stored files by name and sha256
(``coremetadata.py`` decides when it is asked for and where the values go)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from pkgdex.metadata.queries import CoreMetadata
from pkgdex.metadata.upstream import UpstreamError
from pkgdex.metadata.views import Unknown

# Each hash pkgdex passes on. Checked here for core metadata only, rather than as a msgspec
# pattern on every hash of the page, which took most of the time of reading 1,000 files;
# the page's own ``hashes`` are only compared, never passed on. Names and digests are each
# matched in one pass over them all, joined by newlines (one inside a value shows in the
# count): matched one by one, they took half the time of reading the page.
_HASH_NAME = r"[a-z0-9_]{1,32}"
_HEX_DIGEST = r"[0-9a-f]{1,256}"
_HASH_NAMES = re.compile(rf"(?:{_HASH_NAME}\n)*{_HASH_NAME}").fullmatch
_HEX_DIGESTS = re.compile(rf"(?:{_HEX_DIGEST}\n)*{_HEX_DIGEST}").fullmatch


class PageFile(Struct, gc=False):
    """A file as a PEP 691 page lists it; only what core metadata needs is read."""

    filename: Annotated[str, Meta(min_length=1, max_length=512)]
    hashes: dict[str, str] = {}
    core_metadata: CoreMetadata | UnsetType = msgspec.field(name="core-metadata", default=UNSET)
    # PEP 658's name, which pages written before PEP 714 carry alone.
    dist_info_metadata: CoreMetadata | UnsetType = msgspec.field(
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
        raise _unusable(url, str(exc)) from exc
    if page.meta.api_version.split(".")[0] != "1":  # PEP 691: refuse another major version
        raise _unusable(url, f"API version {page.meta.api_version}")
    listed = {f.filename: (f.hashes.get("sha256"), _value(f)) for f in page.files}
    hashes = [value for _, value in listed.values() if isinstance(value, dict)]
    if not _hashes_ok(hashes):
        bad = next(value for value in hashes if not _hashes_ok([value]))
        raise _unusable(url, f"core metadata hashes {bad!r:.200}")
    return listed


def _hashes_ok(hashes: list[dict[str, str]]) -> bool:
    names = [name for value in hashes for name in value]
    digests = [digest for value in hashes for digest in value.values()]
    return _each_matches(_HASH_NAMES, names) and _each_matches(_HEX_DIGESTS, digests)


def _each_matches(pattern: Callable[[str], object], items: list[str]) -> bool:
    if not items:
        return True
    joined = "\n".join(items)
    return joined.count("\n") == len(items) - 1 and pattern(joined) is not None


def _unusable(url: str, why: str) -> UpstreamError:
    message = f"the upstream's Simple page {url} is not a usable PEP 691 page: {why}"
    return UpstreamError(502, "upstream_malformed", message)


def _value(f: PageFile) -> CoreMetadata:
    given = f.core_metadata if f.core_metadata is not UNSET else f.dist_info_metadata
    if isinstance(given, UnsetType) or given == {}:
        return False
    return given


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
