"""Imports every domain's tables so migrations and ``alembic check`` see the whole schema."""

from __future__ import annotations

import importlib

DOMAINS_WITH_TABLES = (
    "pkgdex.index.models",
    "pkgdex.downloads.models",
    "pkgdex.metadata.models",
    "pkgdex.npmregistry.models",
)


def load_all_models() -> None:
    for module in DOMAINS_WITH_TABLES:
        importlib.import_module(module)
