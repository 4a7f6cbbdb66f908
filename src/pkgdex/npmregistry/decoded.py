"""A packument decoded for a pull-through miss: checked while it is parsed, with the install-v1
fields of each version kept as raw JSON.

A full parse of a 400 KB packument makes tens of thousands of Python objects the answer never
looks at. The typed decode below validates the whole body as JSON but builds objects only for
what the checks of :mod:`pkgdex.npmregistry.packument` read (name, each version's ``version``,
dist-tags, time); for an install-v1 answer it also keeps each version's install-v1 fields as
raw slices of the body, which the abbreviated document is encoded from without parsing them.
The full answer is the upstream's body itself, once this decode has accepted it.

Strings and numbers it skips are checked as JSON only: the UTF-8 of a body that is not ASCII
is checked apart, and a number beyond a double's range stays in the JSON as it came (only a
part decoded to Python values later, such as the search card, refuses it).

Every document :func:`~pkgdex.npmregistry.packument.check_packument` accepts decodes here too
(the types are no stricter than those checks); a body that does not decode is handed to that
slower check, so a refusal says what is wrong in the same words as before.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, cast

import msgspec
import orjson
from msgspec import UNSET, Raw, Struct, UnsetType, field

from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry.render import runs_install_script

RawField = Raw | UnsetType
_TRUE = Raw(b"true")


class Manifest(Struct, omit_defaults=True):
    """One version's install-v1 fields (``render.ABBREVIATED_VERSION_FIELDS``, in that order)
    and its scripts."""

    name: RawField = UNSET
    version: str | UnsetType = UNSET  # checked against its key
    deprecated: RawField = UNSET
    dependencies: RawField = UNSET
    optionalDependencies: RawField = UNSET  # noqa: N815 (npm's field names)
    devDependencies: RawField = UNSET  # noqa: N815
    bundleDependencies: RawField = UNSET  # noqa: N815
    bundledDependencies: RawField = UNSET  # noqa: N815
    peerDependencies: RawField = UNSET  # noqa: N815
    peerDependenciesMeta: RawField = UNSET  # noqa: N815
    acceptDependencies: RawField = UNSET  # noqa: N815
    bin: RawField = UNSET
    directories: RawField = UNSET
    dist: RawField = UNSET
    engines: RawField = UNSET
    os: RawField = UNSET
    cpu: RawField = UNSET
    libc: RawField = UNSET
    funding: RawField = UNSET
    has_shrinkwrap: RawField = field(default=UNSET, name="_hasShrinkwrap")
    hasInstallScript: RawField = UNSET  # noqa: N815
    scripts: Any = UNSET  # read for hasInstallScript, then cleared so it is never encoded


class _Version(Struct):
    version: str | UnsetType = UNSET


_V = TypeVar("_V", _Version, Manifest)


class _Doc(Struct, Generic[_V]):
    """What the checks read: decoded with ``_Version`` alone for an answer with the full
    document, with ``Manifest`` (each version's install-v1 fields too) for an install-v1 one."""

    name: str
    versions: dict[str, _V] = field(default_factory=dict)
    dist_tags: dict[str, str] = field(default_factory=dict, name="dist-tags")
    time: dict[str, str | dict[str, Any]] = field(default_factory=dict)
    description: Any = None


class _Described(Struct):
    description: Any = None


class _Descriptions(Struct):
    versions: dict[str, _Described] = field(default_factory=dict)


class _Abbreviated(Struct, omit_defaults=True):
    name: str
    modified: str | UnsetType
    dist_tags: dict[str, str] = field(name="dist-tags")
    versions: dict[str, Manifest]


_checker = msgspec.json.Decoder(_Doc[_Version])
_decoder = msgspec.json.Decoder(_Doc[Manifest])
_encoder = msgspec.json.Encoder()


class MalformedBodyError(ValueError):
    """The body is not JSON at all (or not UTF-8)."""


class DecodedPackument:
    """What a miss needs of a checked packument body: its name, latest version, modification
    stamp, summary, and the install-v1 document on demand."""

    def __init__(self, doc: _Doc[_Version] | _Doc[Manifest], body: bytes, full: bool) -> None:
        self._body = body
        self._full = cast("_Doc[Manifest]", doc) if full else None  # the install-v1 fields
        self.name = doc.name
        latest = doc.dist_tags.get("latest")
        self.latest = latest if latest in doc.versions else None
        stamp = doc.time.get("modified") or doc.time.get("created")
        self.modified = stamp if isinstance(stamp, str) else None
        self.unpublished = not doc.versions and isinstance(doc.time.get("unpublished"), dict)
        self.summary = _summary(doc, body, self.latest)
        self._settled = False

    def abbreviated(self) -> bytes:
        """The install-v1 document (as ``render.abbreviate`` makes it from the parsed one);
        not thread-safe (its caller holds a lock). Raises
        :class:`~pkgdex.npmregistry.packument.InvalidPackumentError` when the scripts it reads
        cannot be decoded."""
        doc = self._full
        if doc is None:  # checked alone: decode again, with the fields
            try:
                doc = self._full = _decoder.decode(self._body)
            except msgspec.DecodeError as exc:  # scripts with a number beyond a double's range
                raise pk.InvalidPackumentError(f"{self.name}: {exc}") from exc
        if not self._settled:
            for manifest in doc.versions.values():
                _settle(manifest)
            self._settled = True
        modified = UNSET if self.modified is None else self.modified
        return _encoder.encode(_Abbreviated(doc.name, modified, doc.dist_tags, doc.versions))


def decode(
    body: bytes, expected_name: str | None = None, *, install_v1: bool = False
) -> DecodedPackument:
    """Check ``body`` as a packument (for ``expected_name``) while decoding it, with the
    install-v1 fields when that is the answer (else they are decoded when first asked for).

    Raises :class:`MalformedBodyError` when it is not JSON and
    :class:`~pkgdex.npmregistry.packument.InvalidPackumentError` when it is not a packument.
    """
    if not body.isascii():
        # The decoder checks the UTF-8 of the strings it builds, not of those it skips.
        try:
            body.decode()
        except UnicodeDecodeError as exc:
            raise MalformedBodyError(str(exc)) from exc
    try:
        doc: _Doc[_Version] | _Doc[Manifest] = (_decoder if install_v1 else _checker).decode(body)
    except msgspec.DecodeError as exc:
        _explain(body, expected_name, exc)
    except RecursionError as exc:  # nested past the interpreter's depth: no packument's form
        raise MalformedBodyError(f"nested too deep to read: {exc}") from exc
    if not pk.valid_name(doc.name):
        raise pk.InvalidPackumentError(f"packument has no valid name: {doc.name!r}")
    if expected_name is not None and doc.name != expected_name:
        message = f"asked for {expected_name!r}, got the packument of {doc.name!r}"
        raise pk.InvalidPackumentError(message)
    for version, manifest in doc.versions.items():
        if manifest.version is not UNSET and manifest.version != version:
            message = f"{doc.name}: versions[{version!r}] says it is another version"
            raise pk.InvalidPackumentError(message)
    decoded = DecodedPackument(doc, body, install_v1)
    problem = pk.unstorable(decoded.latest, decoded.modified)
    if problem is not None:
        raise pk.InvalidPackumentError(f"{doc.name}: {problem}")
    return decoded


def _explain(body: bytes, expected_name: str | None, error: msgspec.DecodeError) -> Any:
    """Raise the error the parse-then-check path gives for a body the typed decode refused."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBodyError(str(exc)) from exc
    pk.check_packument(data, expected_name)  # raises with the reason in its words
    # Accepted there yet refused here: a body this decoder cannot take is still refused.
    raise pk.InvalidPackumentError(str(error)) from error


def _summary(doc: _Doc[_Version] | _Doc[Manifest], body: bytes, latest: str | None) -> str:
    description = doc.description
    if not isinstance(description, str) and latest is not None:
        # Rare (the registry hoists the latest description): decode the versions' alone.
        description = msgspec.json.decode(body, type=_Descriptions).versions[latest].description
    return pk.first_line(description)


def _settle(manifest: Manifest) -> None:
    # The registry computes hasInstallScript at publish time from the lifecycle scripts.
    if runs_install_script(manifest.scripts):
        manifest.hasInstallScript = _TRUE
    manifest.scripts = UNSET


def abbreviated_version(manifest: Raw | bytes) -> bytes:
    """One version's install-v1 form (as ``render.abbreviate_version`` makes it), from the
    version's JSON."""
    try:
        decoded: Manifest = msgspec.json.decode(manifest, type=Manifest)
    except msgspec.DecodeError as exc:  # its scripts hold a number beyond a double's range
        raise pk.InvalidPackumentError(str(exc)) from exc
    _settle(decoded)
    return _encoder.encode(decoded)
