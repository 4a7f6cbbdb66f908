"""PEP 691 pages written as pypi.org writes them, one file at a time, for the tests of what
pkgdex reads of an upstream's page."""

from __future__ import annotations

from typing import Any

import orjson

CORE_METADATA = {"sha256": "ab" * 32}
WHOLE_FILE: dict[str, Any] = {
    "core-metadata": CORE_METADATA,
    "data-dist-info-metadata": CORE_METADATA,
    "filename": "a-1.whl",
    "hashes": {"sha256": "1" * 64},
    "requires-python": None,
    "size": 10,
    "upload-time": "2020-01-01T00:00:00Z",
    "url": "https://files.example.org/a-1.whl",
    "yanked": False,
}


def whole_page(*files: dict[str, Any]) -> bytes:
    """Project ``a``'s page (serial 7, version 1) listing ``files``."""
    meta = {"api-version": "1.1", "_last-serial": 7}
    return orjson.dumps({"meta": meta, "name": "a", "files": list(files), "versions": ["1"]})
