"""Read SQL of the metadata domain, returning plain immutable values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, bindparam, select

from pkgdex.db import DriverStatement
from pkgdex.metadata.models import metadata_files, metadata_projects, metadata_releases
from pkgdex.metadata.versions import newest_first

FOUND, MISSING = 200, 404
CoreMetadata = bool | dict[str, str]  # PEP 658/714, as stored and rendered: hashes, true, false


@dataclass(frozen=True)
class ProjectState:
    """What the pull-through needs to decide, read with one primary-key lookup."""

    id: int
    name: str
    display_name: str
    status: int
    last_serial: int
    fetched_at: float
    upstream_etag: str | None
    revision: str


class FileRow(NamedTuple):  # a tuple: projects have thousands of files, built quickly
    filename: str
    packagetype: str
    python_version: str
    requires_python: str | None
    size: int | None
    upload_time: datetime | None
    md5: str | None
    sha256: str | None
    blake2b_256: str | None
    url: str
    yanked: bool
    yanked_reason: str | None
    comment_text: str | None
    core_metadata: CoreMetadata | None  # None: not known yet


class ReleaseRow(NamedTuple):
    id: int
    version: str
    yanked: bool
    yanked_reason: str | None
    requires_python: str | None
    info: dict[str, Any] | None
    files: tuple[FileRow, ...]


@dataclass(frozen=True)
class ProjectView:
    """A stored project with its releases newest first and each release's files by name."""

    state: ProjectState
    releases: tuple[ReleaseRow, ...]
    described: str | None = None  # the version the upstream's project document described


_STATE_COLUMNS = (
    metadata_projects.c.id,
    metadata_projects.c.name,
    metadata_projects.c.display_name,
    metadata_projects.c.status,
    metadata_projects.c.last_serial,
    metadata_projects.c.fetched_at,
    metadata_projects.c.upstream_etag,
    metadata_projects.c.revision,
)


def project_state(conn: Connection, name: str) -> ProjectState | None:
    """The cache bookkeeping of project ``name`` (PEP 503 form), or None if never seen.

    Asked on every miss and once a second per name: run as the driver's own SQL, compiled
    once per dialect (SQLAlchemy's statement caching cost twice the query itself); none of
    these columns' types converts values on the way out.
    """
    row = _STATE.execute(conn, {"name": name}).first()
    return None if row is None else ProjectState(*row)


_STATE = DriverStatement(
    lambda: select(*_STATE_COLUMNS).where(metadata_projects.c.name == bindparam("name"))
)


def load_project(conn: Connection, state: ProjectState) -> ProjectView:
    """Every release and file of a stored project (two queries)."""
    files: dict[int, list[FileRow]] = {}
    file_rows = conn.execute(
        select(metadata_files.c.release_id, *_FILE_COLUMNS).where(
            metadata_files.c.project_id == state.id
        )
    )
    for row in file_rows:
        values = (*row[1:-1], _loads(row[-1]))  # the last column is core_metadata, as JSON
        files.setdefault(row[0], []).append(FileRow(*values))
    for release_files in files.values():
        # By code point, as pypi.org lists them (database collations disagree on "-" and ".").
        release_files.sort(key=lambda f: f.filename)
    release_rows = conn.execute(
        select(
            metadata_releases.c.id,
            metadata_releases.c.version,
            metadata_releases.c.yanked,
            metadata_releases.c.yanked_reason,
            metadata_releases.c.requires_python,
            metadata_releases.c.info,
        ).where(metadata_releases.c.project_id == state.id)
    )
    releases = [
        ReleaseRow(*row[:-1], _loads(row.info), files=tuple(files.get(row.id, ())))
        for row in release_rows
    ]
    described = conn.execute(
        select(metadata_projects.c.described_version).where(metadata_projects.c.id == state.id)
    ).scalar_one_or_none()
    return ProjectView(state, tuple(newest_first(releases)), described)


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def any_core_metadata_unknown(conn: Connection, project_id: int) -> bool:
    """Whether some file of the project has core metadata not yet asked about."""
    unknown = select(metadata_files.c.id).where(
        metadata_files.c.project_id == project_id, metadata_files.c.core_metadata.is_(None)
    )
    return bool(conn.execute(select(unknown.exists())).scalar())


def list_projects(conn: Connection) -> list[tuple[str, str, int]]:
    """(PEP 503 name, display name, last serial) of every stored project, by name."""
    rows = conn.execute(
        select(
            metadata_projects.c.name,
            metadata_projects.c.display_name,
            metadata_projects.c.last_serial,
        ).where(metadata_projects.c.status == FOUND)
    )
    # Sorted here, by code point: database collations disagree about "-" and ".".
    return sorted((name, display, serial) for name, display, serial in rows)


_FILE_COLUMNS = (
    metadata_files.c.filename,
    metadata_files.c.packagetype,
    metadata_files.c.python_version,
    metadata_files.c.requires_python,
    metadata_files.c.size,
    metadata_files.c.upload_time,
    metadata_files.c.md5,
    metadata_files.c.sha256,
    metadata_files.c.blake2b_256,
    metadata_files.c.url,
    metadata_files.c.yanked,
    metadata_files.c.yanked_reason,
    metadata_files.c.comment_text,
    metadata_files.c.core_metadata,
)
