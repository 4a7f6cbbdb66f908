"""Projects stored as ``pkgdex metadata import`` stores them, for tests and benchmarks of what
follows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
from sqlalchemy import Engine

from pkgdex.metadata.jobs import import_documents
from support.fake_pypi import Project


def import_projects(engine: Engine, projects: Sequence[Project], directory: Path) -> None:
    """``projects``' JSON API documents imported into ``engine``'s store in one import (a
    JSONL file in ``directory``): their files' core metadata unknown, since the JSON API does
    not say it."""
    path = directory / "imported.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(p.doc()) for p in projects))
    import_documents(engine, path)


def import_project(engine: Engine, project: Project, directory: Path) -> None:
    """``project`` imported alone (``import_projects``)."""
    import_projects(engine, [project], directory)
