"""The documents pkgdex answers with, as npm's registry shapes them.

The full packument is served as the upstream sent it (tarball URLs stay the upstream's: pkgdex
indexes metadata, it does not host tarballs). The abbreviated form is the install-v1 ("corgi")
document npm asks for with ``Accept: application/vnd.npm.install-v1+json``: only what an
installer needs.
"""

from __future__ import annotations

from typing import Any

import orjson

from pkgdex.npmregistry.packument import Packument, modified

FULL_TYPE = "application/json"
ABBREVIATED_TYPE = "application/vnd.npm.install-v1+json"

# The per-version fields of the install-v1 document: npm's documented list (package-metadata.md)
# plus the install-relevant fields the registry added since (deprecation, peer metadata,
# platform checks, accepted ranges, install scripts). Not ``license``: the registry leaves it out.
ABBREVIATED_VERSION_FIELDS = (
    "name",
    "version",
    "deprecated",
    "dependencies",
    "optionalDependencies",
    "devDependencies",
    "bundleDependencies",
    "bundledDependencies",
    "peerDependencies",
    "peerDependenciesMeta",
    "acceptDependencies",
    "bin",
    "directories",
    "dist",
    "engines",
    "os",
    "cpu",
    "libc",
    "funding",
    "_hasShrinkwrap",
    "hasInstallScript",
)
_KEPT = frozenset(ABBREVIATED_VERSION_FIELDS)
INSTALL_SCRIPTS = frozenset({"preinstall", "install", "postinstall"})

NOT_FOUND = {"error": "Not found"}


def dumps(value: Any) -> bytes:
    return orjson.dumps(value)


def abbreviate(doc: Packument) -> Packument:
    """The install-v1 form of a full packument."""
    corgi: Packument = {"name": doc["name"]}
    if (stamp := modified(doc)) is not None:
        corgi["modified"] = stamp
    corgi["dist-tags"] = doc.get("dist-tags", {})
    corgi["versions"] = {v: abbreviate_version(m) for v, m in doc.get("versions", {}).items()}
    return corgi


def abbreviate_version(manifest: Packument) -> Packument:
    """One version with only the install-relevant fields."""
    kept = {k: v for k, v in manifest.items() if k in _KEPT}
    # The registry computes this at publish time from the lifecycle scripts.
    if runs_install_script(manifest.get("scripts")):
        kept["hasInstallScript"] = True
    return kept


def runs_install_script(scripts: Any) -> bool:
    """Whether a manifest's ``scripts`` run at install (an empty script runs nothing)."""
    return isinstance(scripts, dict) and any(scripts.get(name) for name in INSTALL_SCRIPTS)


def version_not_found(version: str) -> str:
    """The registry answers an unknown version with a bare JSON string."""
    return f"version not found: {version}"
