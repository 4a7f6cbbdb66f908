"""What a packument must look like before pkgdex stores it, and what is derived from one.

Upstream documents and imported files are checked here first: a document that would break a
client (a wrong name, versions that are not objects, dist-tags pointing nowhere useful) is
refused with a message instead of being cached.
"""

from __future__ import annotations

import re
from typing import Any

from pkgdex.npmregistry.models import MODIFIED_MAX_LENGTH, NAME_MAX_LENGTH, VERSION_MAX_LENGTH

# Legacy names may have capitals and a few punctuation marks; scopes are lowercase-ish.
_NAME = re.compile(r"^(?:@[A-Za-z0-9~-][A-Za-z0-9._~-]*/)?[A-Za-z0-9~!*'()-][A-Za-z0-9._~!*'()-]*$")

Packument = dict[str, Any]


class InvalidPackumentError(ValueError):
    """A document that is not a usable npm packument."""


def valid_name(name: str) -> bool:
    """Whether ``name`` can be an npm package name (``@scope/name`` included)."""
    return len(name) <= NAME_MAX_LENGTH and _NAME.match(name) is not None


def check_packument(data: Any, expected_name: str | None = None) -> Packument:
    """Return ``data`` when it is a packument (for ``expected_name``), else raise."""
    if not isinstance(data, dict):
        raise InvalidPackumentError("a packument must be a JSON object")
    name = data.get("name")
    if not isinstance(name, str) or not valid_name(name):
        raise InvalidPackumentError(f"packument has no valid name: {name!r}")
    if expected_name is not None and name != expected_name:
        raise InvalidPackumentError(f"asked for {expected_name!r}, got the packument of {name!r}")
    _check_mapping(data, "versions", dict, f"{name}: versions")
    _check_mapping(data, "dist-tags", str, f"{name}: dist-tags")
    _check_mapping(data, "time", (str, dict), f"{name}: time")  # dict: time.unpublished
    for version, manifest in data.get("versions", {}).items():
        if manifest.get("version", version) != version:
            raise InvalidPackumentError(f"{name}: versions[{version!r}] says it is another version")
    problem = unstorable(latest_version(data), modified(data))
    if problem is not None:
        raise InvalidPackumentError(f"{name}: {problem}")
    return data


def _check_mapping(
    data: Packument, key: str, value_type: type | tuple[type, ...], what: str
) -> None:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise InvalidPackumentError(f"{what} must be an object")
    if not all(isinstance(v, value_type) for v in value.values()):
        names = [
            t.__name__ for t in (value_type if isinstance(value_type, tuple) else (value_type,))
        ]
        raise InvalidPackumentError(f"{what} must map to {' or '.join(names)} values")


def is_unpublished(doc: Packument) -> bool:
    """The registry still answers for a fully unpublished package, with no versions left."""
    return not doc.get("versions") and isinstance(doc.get("time", {}).get("unpublished"), dict)


def latest_version(doc: Packument) -> str | None:
    """The version ``latest`` points at, when it is one that exists."""
    latest = doc.get("dist-tags", {}).get("latest")
    return latest if latest in doc.get("versions", {}) else None


def description(doc: Packument) -> str:
    """The package's description as npm search shows it (the latest version's when the
    packument has none of its own)."""
    text = doc.get("description")
    if not isinstance(text, str):
        latest = latest_version(doc)
        text = doc["versions"][latest].get("description") if latest else None
    return text.strip() if isinstance(text, str) else ""


def summary(doc: Packument) -> str:
    """The one-line description the name index shows."""
    return first_line(description(doc))


def first_line(text: Any) -> str:
    """A description's first line, as the name index shows it: without NUL characters, which
    a registry on CouchDB can hold and no PostgreSQL text column can."""
    if not isinstance(text, str) or not text.strip():
        return ""
    return text.strip().splitlines()[0].replace("\x00", "")


def unstorable(latest: str | None, modified: str | None) -> str | None:
    """Why a packument's values stored in columns of their own cannot be (None: they can).
    The registry writes neither with a NUL character, which PostgreSQL's text cannot hold,
    nor longer than its column (a version past node-semver's limit, a time that is none), so
    such a packument is refused on every database alike."""
    for what, value, limit in (
        ("the latest version", latest, VERSION_MAX_LENGTH),
        ("time.modified", modified, MODIFIED_MAX_LENGTH),
    ):
        if value is not None and "\x00" in value:
            return f"{what} holds a NUL character"
        if value is not None and len(value) > limit:
            return f"{what} is longer than {limit} characters"
    return None


def modified(doc: Packument) -> str | None:
    time: dict[str, Any] = doc.get("time", {})
    stamp = time.get("modified") or time.get("created")
    return stamp if isinstance(stamp, str) else None


def resolve_version(doc: Packument, version_or_tag: str) -> Packument | None:
    """The manifest of a version, or of the version a dist-tag points at."""
    versions: dict[str, Packument] = doc.get("versions", {})
    if version_or_tag in versions:
        return versions[version_or_tag]
    tagged = doc.get("dist-tags", {}).get(version_or_tag)
    return versions.get(tagged) if isinstance(tagged, str) else None
