"""Bundled demo packuments for ``pkgdex serve --demo`` (offline).

They are small illustrations, not copies of the real packages' documents: checksums are left
out on purpose, so no client mistakes them for installable metadata.
"""

from __future__ import annotations

from pkgdex.npmregistry.packument import Packument

_REGISTRY = "https://registry.npmjs.org"
_DEMO_PACKAGES = {
    "left-pad": ("String left pad", ["1.0.0", "1.1.0", "1.3.0"], ["pad", "string"]),
    "is-odd": ("Returns true if the given number is odd", ["1.0.0", "3.0.1"], ["odd", "math"]),
    "@pkgdex/demo": ("A scoped demo package of pkgdex", ["0.1.0", "0.2.0-rc.1"], ["demo"]),
}


def packuments() -> list[Packument]:
    return [_packument(name, *spec) for name, spec in _DEMO_PACKAGES.items()]


def _packument(name: str, description: str, versions: list[str], keywords: list[str]) -> Packument:
    stable = [v for v in versions if "-" not in v]
    tags = {"latest": stable[-1]} if stable else {"latest": versions[-1]}
    if versions[-1] not in stable:
        tags["next"] = versions[-1]
    basename = name.rsplit("/", 1)[-1]
    time = {v: f"2024-0{1 + i}-01T00:00:00.000Z" for i, v in enumerate(versions)}
    return {
        "_id": name,
        "name": name,
        "description": description,
        "dist-tags": tags,
        "versions": {
            v: {
                "name": name,
                "version": v,
                "description": description,
                "license": "MIT",
                "dist": {"tarball": f"{_REGISTRY}/{name}/-/{basename}-{v}.tgz"},
            }
            for v in versions
        },
        "time": {"created": time[versions[0]], "modified": time[versions[-1]], **time},
        "maintainers": [{"name": "pkgdex-demo", "email": "demo@example.org"}],
        "keywords": keywords,
        "license": "MIT",
    }
