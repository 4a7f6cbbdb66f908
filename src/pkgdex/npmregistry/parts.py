"""Parts of a stored (already checked) packument, read without parsing the rest of it: one
version's manifest, and what the search card shows.

A stored packument is the upstream's body as it came, checked by :mod:`pkgdex.npmregistry.decoded`
(which keeps every body that passes a JSON document of the right shape). The decodes here
skip every version but the one asked for, and hand its JSON on as it is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import msgspec
import nodesemver
from msgspec import UNSET, Raw, Struct, field

from pkgdex.npmregistry import packument as pk


class UnreadablePartError(ValueError):
    """A part of the document that cannot be decoded to Python values (a number beyond a
    double's range, which the check skipped over as JSON)."""


class _Versions(Struct):
    versions: dict[str, Raw] = field(default_factory=dict)
    dist_tags: dict[str, str] = field(default_factory=dict, name="dist-tags")


class _Tags(Struct):
    dist_tags: dict[str, str] = field(default_factory=dict, name="dist-tags")


class _CardSource(Struct):
    """The top-level fields ``cards.search_card`` reads (absent ones stay absent)."""

    name: str
    versions: dict[str, Raw] = field(default_factory=dict)
    dist_tags: dict[str, str] = field(default_factory=dict, name="dist-tags")
    time: Any = UNSET
    description: Any = UNSET
    keywords: Any = UNSET
    homepage: Any = UNSET
    repository: Any = UNSET
    bugs: Any = UNSET
    maintainers: Any = UNSET
    license: Any = UNSET


_versions_decoder = msgspec.json.Decoder(_Versions)
_card_decoder = msgspec.json.Decoder(_CardSource)
_tags_decoder = msgspec.json.Decoder(_Tags)
RANGE_MAX_LENGTH = 256  # node-semver's own limit: its patterns are not run on longer input
_CARD_FIELDS = ("time", "description", "keywords", "homepage", "repository", "bugs",
                "maintainers", "license")  # fmt: skip


class VersionJSON(NamedTuple):
    json: bytes  # the version's manifest as stored
    by_range: bool  # found as the newest version a range takes (not a version or a tag)


def version_json(body: bytes, wanted: str) -> VersionJSON | None:
    """The stored JSON of a version; else of the version a dist-tag points at (as
    ``packument.resolve_version`` finds it); else of the newest version a semver range takes
    (``^1.2.0``, ``1.x``, ``>=1 <2``), as the registry answers ``/<name>/<range>``."""
    doc = _versions_decoder.decode(body)
    manifest = doc.versions.get(wanted)
    if manifest is None and (tagged := doc.dist_tags.get(wanted)) is not None:
        manifest = doc.versions.get(tagged)
    if manifest is not None:
        return VersionJSON(bytes(manifest), by_range=False)
    newest = newest_satisfying(doc.versions, wanted)
    return None if newest is None else VersionJSON(bytes(doc.versions[newest]), by_range=True)


def newest_satisfying(versions: Iterable[str], spec: str) -> str | None:
    """The newest of ``versions`` in the semver range ``spec`` by npm's rules (node-semver's,
    loose as the registry reads them: a pre-release only when the range names one of its
    release), or None. Versions that are not semver are passed over."""
    if len(spec) > RANGE_MAX_LENGTH:
        return None
    try:
        newest: str | None = nodesemver.max_satisfying(
            [v for v in versions if _semver(v)], spec, loose=True
        )
    except ValueError:  # a range node-semver cannot read
        return None
    return newest


def _semver(version: str) -> bool:
    try:
        return nodesemver.valid(version, loose=True) is not None
    except ValueError:  # a number past the 4,300 digits int() reads
        return False


def dist_tags(body: bytes) -> dict[str, str]:
    """The packument's dist-tags (tag -> version)."""
    return _tags_decoder.decode(body).dist_tags


def tarball_url(body: bytes, version: str) -> str | None:
    """The ``dist.tarball`` of exactly ``version`` (no dist-tags: a tarball names its version),
    or None when the version has none that is a string."""
    raw = _versions_decoder.decode(body).versions.get(version)
    if raw is None:
        return None
    try:
        manifest = msgspec.json.decode(raw)
    except msgspec.DecodeError:  # a number beyond a double's range, somewhere in it
        return None
    dist = manifest.get("dist") if isinstance(manifest, dict) else None
    url = dist.get("tarball") if isinstance(dist, dict) else None
    return url if isinstance(url, str) else None


def card_source(body: bytes) -> pk.Packument:
    """The packument as ``cards.search_card`` reads it: its top-level fields and its latest
    version, the other versions left out."""
    try:
        source = _card_decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise UnreadablePartError(str(exc)) from exc
    doc: pk.Packument = {"name": source.name, "dist-tags": source.dist_tags}
    doc.update((f, v) for f in _CARD_FIELDS if (v := getattr(source, f)) is not UNSET)
    latest = source.dist_tags.get("latest")
    doc["versions"] = {}
    if latest is not None and latest in source.versions:
        try:
            doc["versions"][latest] = msgspec.json.decode(source.versions[latest])
        except msgspec.DecodeError as exc:
            raise UnreadablePartError(f"{source.name}@{latest}: {exc}") from exc
    return doc
