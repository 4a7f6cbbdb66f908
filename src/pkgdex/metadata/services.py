"""Writes of the metadata domain. Each function runs inside the caller's transaction, so a
document is stored completely or not at all."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, Table, bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pkgdex.db import DriverStatement
from pkgdex.metadata import views
from pkgdex.metadata.documents import FileDoc, PyPIDocument
from pkgdex.metadata.models import (
    CORE_METADATA_UNKNOWN,
    metadata_files,
    metadata_projects,
    metadata_releases,
)
from pkgdex.metadata.queries import FOUND, MISSING, ProjectView


@dataclass(frozen=True)
class Stored:
    project_id: int
    is_new: bool  # pkgdex had not seen the project before (or only as absent)
    view: ProjectView | None  # what was written, for project documents: no need to read it back


def store_document(
    conn: Connection,
    doc: PyPIDocument,
    *,
    fetched_at: float,
    etag: str | None = None,
    revision: str | None = None,
    with_view: bool = True,
    learnt: views.Carried | None = None,
) -> Stored:
    """Store a project document (all releases) or a single-release document, as ``revision``
    (a new one by default); ``with_view``: also return the view of what was written.
    ``learnt``: core metadata of its files learnt since the document came (``coremetadata``)."""
    row = _upsert_project(conn, doc, fetched_at=fetched_at, etag=etag, revision=revision)
    carried = known_core_metadata(conn, row.id) if row.existed else {}
    carried.update(learnt or {})
    if doc.releases is None:
        _replace_release(conn, row.id, doc, carried)
        return Stored(row.id, row.is_new, None)
    known, ids = _replace_releases(conn, row.id, doc, carried, existed=row.existed)
    if not with_view:
        return Stored(row.id, row.is_new, None)
    state = views.project_state(
        doc, project_id=row.id, fetched_at=fetched_at, etag=etag, revision=row.revision
    )
    infos = {version: orjson.loads(info) for version, info in known.items()}
    return Stored(row.id, row.is_new, views.project_view(doc, state, infos, ids, carried))


def known_core_metadata(conn: Connection, project_id: int) -> views.Carried:
    """filename -> (sha256, core metadata) of the project's files whose core metadata is known
    (``coremetadata``): a refresh keeps it for the same files, as the JSON API never has it."""
    rows = conn.execute(
        select(
            metadata_files.c.filename, metadata_files.c.sha256, metadata_files.c.core_metadata
        ).where(
            metadata_files.c.project_id == project_id,
            metadata_files.c.core_metadata.is_not(None),
        )
    )
    return {filename: (sha256, orjson.loads(value)) for filename, sha256, value in rows}


def add_core_metadata(
    conn: Connection,
    project_id: int,
    values: dict[str, Any],
    *,
    revision: str | None = None,
    based_on: str | None = None,
) -> str | None:
    """Record the core metadata of files whose core metadata was unknown (filename -> hashes,
    true or false), as a new ``revision`` of the project (a fresh one by default); returns it.
    With ``based_on``, only while the project is still that revision (the one whose files the
    values were matched against): None, and nothing written, once another write replaced it."""
    revision = revision or new_revision()
    bump = update(metadata_projects).where(metadata_projects.c.id == project_id)
    if based_on is not None:
        bump = bump.where(metadata_projects.c.revision == based_on)
    if conn.execute(bump.values(revision=revision)).rowcount == 0:
        return None
    files = metadata_files.c
    unknown = conn.execute(
        select(files.id, files.filename).where(
            files.project_id == project_id, CORE_METADATA_UNKNOWN
        )
    ).all()
    # By primary key: filenames are not indexed, and matching each by name scanned every file
    # of the project once per file (100 ms for 1,000 files).
    updates = [
        {"b_id": file_id, "b_value": _json(values[filename])}
        for file_id, filename in unknown
        if filename in values
    ]
    if updates:
        # The driver's own executemany: SQLAlchemy's cost more than the database's work.
        _SET_CORE_METADATA.execute_many(conn, updates)
    return revision


_SET_CORE_METADATA = DriverStatement(
    lambda: (
        update(metadata_files)
        .where(metadata_files.c.id == bindparam("b_id"))
        .values(core_metadata=bindparam("b_value"))
    )
)


def known_infos(conn: Connection, project_id: int) -> dict[str, str]:
    """version -> the release's own info (JSON) fetched before, kept across refreshes."""
    rows = conn.execute(
        select(metadata_releases.c.version, metadata_releases.c.info).where(
            metadata_releases.c.project_id == project_id,
            metadata_releases.c.info.is_not(None),
        )
    )
    return dict(rows.all())


def new_revision() -> str:
    return uuid.uuid4().hex


def mark_missing(conn: Connection, name: str, *, fetched_at: float) -> None:
    """Remember that the upstream has no project ``name`` (and forget what it had)."""
    existing = conn.execute(
        select(metadata_projects.c.id).where(metadata_projects.c.name == name)
    ).scalar_one_or_none()
    values = {"status": MISSING, "fetched_at": fetched_at, "revision": new_revision()}
    if existing is None:
        conn.execute(
            metadata_projects.insert().values(
                name=name, display_name=name, last_serial=0, upstream_etag=None, **values
            )
        )
        return
    _delete_releases(conn, existing)
    conn.execute(
        update(metadata_projects)
        .where(metadata_projects.c.id == existing)
        .values(upstream_etag=None, **values)
    )


def touch(conn: Connection, project_id: int, *, fetched_at: float) -> None:
    """The upstream confirmed the stored copy is current (HTTP 304)."""
    conn.execute(
        update(metadata_projects)
        .where(metadata_projects.c.id == project_id)
        .values(fetched_at=fetched_at)
    )


@dataclass(frozen=True)
class _ProjectRow:
    id: int
    is_new: bool
    existed: bool
    revision: str


def _upsert_project(
    conn: Connection,
    doc: PyPIDocument,
    *,
    fetched_at: float,
    etag: str | None,
    revision: str | None = None,
) -> _ProjectRow:
    revision = revision or new_revision()
    values: dict[str, Any] = {
        "display_name": doc.info.name,
        "status": FOUND,
        "last_serial": doc.last_serial,
        "revision": revision,
    }
    if doc.is_project:
        # Which spelling the upstream described is kept: of "3.0" and "3.0.0" (equal in
        # PEP 440) pypi.org describes one, and once both have their own info nothing else says.
        values.update(fetched_at=fetched_at, upstream_etag=etag, described_version=doc.info.version)
    else:
        # A release document replaces its release only: it cannot take the project's serial
        # back (an older dump, or a CDN copy of that page older than the project's).
        stored = metadata_projects.c.last_serial
        values["last_serial"] = case((stored > doc.last_serial, stored), else_=doc.last_serial)
    existing = conn.execute(
        select(metadata_projects.c.id, metadata_projects.c.status).where(
            metadata_projects.c.name == doc.canonical_name
        )
    ).one_or_none()
    if existing is not None:
        conn.execute(
            update(metadata_projects).where(metadata_projects.c.id == existing.id).values(values)
        )
        return _ProjectRow(existing.id, existing.status != FOUND, True, revision)
    # A release document does not prove the project is current: it starts stale.
    first = {"fetched_at": 0.0, "upstream_etag": None, **values, "last_serial": doc.last_serial}
    insert = _insert(conn, metadata_projects).values(name=doc.canonical_name, **first)
    project_id = conn.execute(
        insert.on_conflict_do_update(index_elements=["name"], set_=values).returning(
            metadata_projects.c.id
        )
    ).scalar_one()
    return _ProjectRow(project_id, True, False, revision)


def _replace_releases(
    conn: Connection,
    project_id: int,
    doc: PyPIDocument,
    carried: views.Carried,
    *,
    existed: bool,
) -> tuple[dict[str, str], dict[str, int]]:
    """Write every release and file of ``doc``; returns the releases' own infos kept from
    before (JSON) and each release's row id."""
    known_info: dict[str, str] = {}  # version -> stored info JSON, kept byte for byte
    if existed:
        known_info = known_infos(conn, project_id)
        _delete_releases(conn, project_id)
    known_info.pop(doc.info.version, None)  # the document's own info replaces it
    infos = {**known_info, doc.info.version: _json(doc.info_raw)}
    releases = views.releases_of(doc)
    rows = [
        _release_values(project_id, version, files, doc, infos.get(version))
        for version, files in releases.items()
    ]
    if rows:
        _insert_many(conn, metadata_releases, rows)
    ids = dict(
        conn.execute(
            select(metadata_releases.c.version, metadata_releases.c.id).where(
                metadata_releases.c.project_id == project_id
            )
        ).all()
    )
    every_file = [
        _file_values(project_id, ids[version], f, carried)
        for version, version_files in releases.items()
        for f in version_files
    ]
    if every_file:
        _insert_many(conn, metadata_files, every_file)
    return known_info, ids


def _replace_release(
    conn: Connection, project_id: int, doc: PyPIDocument, carried: views.Carried
) -> None:
    version = doc.info.version
    old = select(metadata_releases.c.id).where(
        metadata_releases.c.project_id == project_id, metadata_releases.c.version == version
    )
    conn.execute(delete(metadata_files).where(metadata_files.c.release_id.in_(old)))
    conn.execute(delete(metadata_releases).where(metadata_releases.c.id.in_(old)))
    values = _release_values(project_id, version, doc.urls, doc, _json(doc.info_raw))
    release_id = conn.execute(
        metadata_releases.insert().values(values).returning(metadata_releases.c.id)
    ).scalar_one()
    if doc.urls:
        _insert_many(
            conn,
            metadata_files,
            [_file_values(project_id, release_id, f, carried) for f in doc.urls],
        )


def _release_values(
    project_id: int,
    version: str,
    files: list[FileDoc],
    doc: PyPIDocument,
    info: str | None,
) -> dict[str, Any]:
    yanked, reason, requires = views.release_state(version, files, doc)
    return {
        "project_id": project_id,
        "version": version,
        "yanked": yanked,
        "yanked_reason": reason,
        "requires_python": requires,
        "info": info,
    }


def _file_values(
    project_id: int, release_id: int, f: FileDoc, carried: views.Carried
) -> dict[str, Any]:
    core = views.core_metadata(f, carried)
    return {
        "project_id": project_id,
        "release_id": release_id,
        "filename": f.filename,
        "packagetype": f.packagetype,
        "python_version": f.python_version,
        "requires_python": f.requires_python,
        "size": f.size,
        "upload_time": f.uploaded_utc(),
        "md5": f.digests.get("md5") or f.md5_digest,
        "sha256": f.digests.get("sha256"),
        "blake2b_256": f.digests.get("blake2b_256"),
        "url": f.url,
        "yanked": f.yanked,
        "yanked_reason": f.yanked_reason,
        "comment_text": f.comment_text,
        "core_metadata": None if core is None else _json(core),
    }


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _delete_releases(conn: Connection, project_id: int) -> None:
    conn.execute(delete(metadata_files).where(metadata_files.c.project_id == project_id))
    conn.execute(delete(metadata_releases).where(metadata_releases.c.project_id == project_id))


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) in one executemany.

    The statement is SQLAlchemy's own and the values go through each column type's own bind
    conversion, exactly as ``conn.execute(table.insert(), rows)`` would, but without its
    per-row parameter processing, which cost more than the database's own work for a
    1,000-file project.
    """
    names = tuple(rows[0])
    plan = _insert_plan(conn, table, names)
    if plan is None:  # not the plain statement we rely on: the general path
        conn.execute(table.insert(), rows)
        return
    sql, order, positional, converters = plan
    pick = itemgetter(*order)
    params: list[Any] = []
    for row in rows:
        values = list(pick(row)) if len(order) > 1 else [row[order[0]]]
        for i, convert in converters:
            values[i] = convert(values[i])
        params.append(tuple(values) if positional else dict(zip(order, values, strict=True)))
    conn.exec_driver_sql(sql, params)


_Converter = Callable[[Any], Any]
_InsertPlan = tuple[str, tuple[str, ...], bool, list[tuple[int, _Converter]]]
_insert_plans: dict[tuple[Any, ...], _InsertPlan | None] = {}  # a memo: a few entries


def _insert_plan(conn: Connection, table: Table, names: tuple[str, ...]) -> _InsertPlan | None:
    """The statement, parameter order and bind conversions, compiled once per dialect (a
    compilation costs about a millisecond, as much as storing a small project)."""
    dialect = conn.dialect
    key = (type(dialect), dialect.paramstyle, table.name, names)
    if key in _insert_plans:
        return _insert_plans[key]
    compiled = table.insert().compile(
        dialect=dialect, column_keys=list(names), for_executemany=True
    )
    order = tuple(compiled.positiontup or ()) if compiled.positional else names
    plan: _InsertPlan | None = None
    if sorted(order) == sorted(names):
        converters: list[tuple[int, _Converter]] = [
            (i, convert)
            for i, name in enumerate(order)
            if (convert := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        ]
        plan = (str(compiled), order, compiled.positional, converters)
    _insert_plans[key] = plan
    return plan


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)
