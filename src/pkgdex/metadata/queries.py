"""Read SQL of the metadata domain, returning plain immutable values."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, bindparam, or_, select

from pkgdex.db import DriverStatement
from pkgdex.metadata.models import (
    CORE_METADATA_UNKNOWN,
    metadata_files,
    metadata_projects,
    metadata_releases,
)
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
    """Every release and file of a stored project (three queries).

    A large project's first page reads thousands of files: the rows are read as the driver
    returns them, and each file built at once from its tuple (SQLAlchemy's rows and their
    processors cost more than the database's read). Only the file columns that SQLite keeps
    in another form (times as text, booleans as integers) are converted here."""
    as_time = _time_reader(conn)
    files: dict[int, list[FileRow]] = {}
    for row in _FILES.rows(conn, {"project_id": state.id}):
        file = _file_row(row, as_time)
        got = files.get(row[0])
        if got is None:
            files[row[0]] = [file]
        else:
            got.append(file)
    for release_files in files.values():
        # By code point, as pypi.org lists them (database collations disagree on "-" and ".").
        release_files.sort(key=_filename)
    releases = [
        ReleaseRow(
            release_id,
            version,
            bool(yanked),
            reason,
            requires_python,
            None if info is None else orjson.loads(info),
            tuple(files.get(release_id, ())),
        )
        for release_id, version, yanked, reason, requires_python, info in _RELEASES.rows(
            conn, {"project_id": state.id}
        )
    ]
    # Read last: a write replaces the rows and the revision at once, and never brings a
    # revision back, so the rows read before are ``state``'s while the revision still is.
    project = _DESCRIBED_AND_REVISION.execute(conn, {"id": state.id}).one_or_none()
    described, revision = project or (None, None)
    if revision != state.revision:
        raise RevisionChanged(state.name)
    return ProjectView(state, tuple(newest_first(releases)), described)


class RevisionChanged(Exception):  # noqa: N818 (a condition, not a failure)
    """The project is no longer the revision asked for: a write replaced it meanwhile, so the
    rows read may be the new revision's."""


def _file_row(row: tuple[Any, ...], as_time: Callable[[Any], datetime | None]) -> FileRow:
    """A file from its row in ``_FILES``, after the release's id."""
    (
        _,
        filename,
        packagetype,
        python_version,
        requires_python,
        size,
        upload_time,
        md5,
        sha256,
        blake2b_256,
        url,
        yanked,
        yanked_reason,
        comment_text,
        core_metadata,
    ) = row
    return FileRow(
        filename,
        packagetype,
        python_version,
        requires_python,
        size,
        as_time(upload_time),
        md5,
        sha256,
        blake2b_256,
        url,
        bool(yanked),
        yanked_reason,
        comment_text,
        None if core_metadata is None else orjson.loads(core_metadata),
    )


def _filename(file: FileRow) -> str:
    return file.filename


def _time_reader(conn: Connection) -> Callable[[Any], datetime | None]:
    """How an upload time comes back from the driver: SQLite's as the text SQLAlchemy wrote
    (ISO 8601, space-separated), PostgreSQL's as a naive datetime."""
    return _text_time if conn.dialect.name == "sqlite" else _same_time


def _text_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _same_time(value: datetime | None) -> datetime | None:
    return value


def any_core_metadata_unknown(conn: Connection, state: ProjectState) -> bool:
    """Whether some file of the project has core metadata not yet asked about (a lookup in
    the partial index of such files, asked before each Simple page is made); true too when
    the project is no longer ``state``'s revision, whose files the store no longer holds."""
    return bool(_ANY_UNKNOWN.execute(conn, {"id": state.id, "revision": state.revision}).scalar())


_ANY_UNKNOWN = DriverStatement(
    lambda: select(
        or_(
            select(metadata_files.c.id)
            .where(metadata_files.c.project_id == bindparam("id"), CORE_METADATA_UNKNOWN)
            .exists(),
            ~select(metadata_projects.c.id)
            .where(
                metadata_projects.c.id == bindparam("id"),
                metadata_projects.c.revision == bindparam("revision"),
            )
            .exists(),
        )
    )
)


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

_FILES = DriverStatement(
    lambda: select(metadata_files.c.release_id, *_FILE_COLUMNS).where(
        metadata_files.c.project_id == bindparam("project_id")
    )
)
_RELEASES = DriverStatement(
    lambda: select(
        metadata_releases.c.id,
        metadata_releases.c.version,
        metadata_releases.c.yanked,
        metadata_releases.c.yanked_reason,
        metadata_releases.c.requires_python,
        metadata_releases.c.info,
    ).where(metadata_releases.c.project_id == bindparam("project_id"))
)
_DESCRIBED_AND_REVISION = DriverStatement(
    lambda: select(metadata_projects.c.described_version, metadata_projects.c.revision).where(
        metadata_projects.c.id == bindparam("id")
    )
)
