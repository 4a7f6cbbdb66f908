"""Projects stored as ``pkgdex metadata import`` stores them, for tests of what follows."""

from __future__ import annotations

from pathlib import Path

import orjson
from sqlalchemy import Engine

from pkgdex.metadata.jobs import import_documents
from support.fake_pypi import Project


def import_project(engine: Engine, project: Project, directory: Path) -> None:
    """``project``'s JSON API document imported into ``engine``'s store: its files' core
    metadata unknown, since the JSON API does not say it."""
    path = directory / f"{project.name}.json"
    path.write_bytes(orjson.dumps(project.doc()))
    import_documents(engine, path)
