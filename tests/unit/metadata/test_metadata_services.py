"""Storing documents: what is written is exactly what SQLAlchemy's general insert path writes,
and exactly what the first answer (rendered from the written values, not read back) shows."""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select, text

from pkgdex.metadata import queries, services, views
from pkgdex.metadata.documents import parse_document
from pkgdex.metadata.models import metadata_files, metadata_projects, metadata_releases


def _file(filename: str, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "filename": filename,
        "url": f"https://files.example.org/{filename}",
        "packagetype": "bdist_wheel",
        "python_version": "py3",
        "requires_python": ">=3.9",
        "size": 1234,
        "upload_time_iso_8601": "2024-03-01T10:20:30.123456Z",
        "digests": {"md5": "0" * 32, "sha256": "1" * 64, "blake2b_256": "2" * 64},
        "yanked": False,
        "yanked_reason": None,
        "comment_text": "",
    }
    return values | overrides


def _document(name: str) -> dict[str, Any]:
    """Every kind of value a file row holds: zoned and zoneless times, no time at all, nulls,
    unicode, yanked files, PEP 714 core metadata as hashes and as true."""
    return {
        "info": {"name": name, "version": "2.0", "summary": "Ünïcode ✓", "yanked": False},
        "last_serial": 42,
        "releases": {
            "1.0": [
                _file("a-1.0.tar.gz", packagetype="sdist", python_version="source", size=None),
                _file(
                    "a-1.0-py3-none-any.whl",
                    upload_time_iso_8601="2024-03-01T12:20:30+02:00",
                    core_metadata={"sha256": "3" * 64},
                ),
            ],
            "1.5": [
                _file(
                    "a-1.5.tar.gz",
                    upload_time_iso_8601=None,
                    yanked=True,
                    yanked_reason="broken ✗",
                    core_metadata=True,
                    digests={},
                    md5_digest="4" * 32,
                )
            ],
            "1.6": [],
            "2.0": [_file("a-2.0-py3-none-any.whl", upload_time_iso_8601="2024-03-01T10:20:30Z")],
        },
        "urls": [],
    }


def _raw_rows(conn: Connection, table_name: str, project_id: int) -> list[tuple[Any, ...]]:
    """Rows as the database holds them (no SQLAlchemy result processing), minus the ids."""
    rows = conn.execute(
        text(f"SELECT * FROM {table_name} WHERE project_id = :p"),  # noqa: S608 (fixed names)
        {"p": project_id},
    ).mappings()
    skip = {"id", "project_id", "release_id"}
    return sorted((tuple(str(v) for k, v in row.items() if k not in skip) for row in rows), key=str)


def test_stored_rows_match_the_general_insert_path(engine: Engine) -> None:
    doc = parse_document(_document("a"), expected_name="a")
    with engine.begin() as conn:
        stored = services.store_document(conn, doc, fetched_at=time.time())
        # The same values through SQLAlchemy's general executemany, for another project.
        other = conn.execute(
            metadata_projects.insert()
            .values(name="b", display_name="b", status=200, last_serial=0, fetched_at=0.0)
            .values(revision="r")
            .returning(metadata_projects.c.id)
        ).scalar_one()
        releases = [
            services._release_values(other, version, files, doc, None)
            for version, files in (doc.releases or {}).items()
        ]
        conn.execute(metadata_releases.insert(), releases)
        ids = dict(
            conn.execute(
                select(metadata_releases.c.version, metadata_releases.c.id).where(
                    metadata_releases.c.project_id == other
                )
            ).all()
        )
        files = [
            services._file_values(other, ids[version], f, {})
            for version, version_files in (doc.releases or {}).items()
            for f in version_files
        ]
        conn.execute(metadata_files.insert(), files)
    with engine.connect() as conn:
        assert _raw_rows(conn, "metadata_files", stored.project_id) == _raw_rows(
            conn, "metadata_files", other
        )
        ours = conn.execute(
            select(metadata_releases.c.version, metadata_releases.c.yanked).where(
                metadata_releases.c.project_id == stored.project_id
            )
        ).all()
    assert sorted(ours) == [("1.0", False), ("1.5", True), ("1.6", False), ("2.0", False)]


def test_the_view_written_is_the_view_read_back(engine: Engine) -> None:
    doc = parse_document(_document("a"), expected_name="a")
    with engine.begin() as conn:
        stored = services.store_document(conn, doc, fetched_at=time.time())
    assert stored.view is not None
    with engine.connect() as conn:
        state = queries.project_state(conn, "a")
        assert state is not None
        read = queries.load_project(conn, state)
    assert read == stored.view
    files = {f.filename: f for r in read.releases for f in r.files}
    assert str(files["a-1.0-py3-none-any.whl"].upload_time) == "2024-03-01 10:20:30"
    assert files["a-1.0.tar.gz"].size is None
    assert files["a-1.5.tar.gz"].upload_time is None
    assert files["a-1.5.tar.gz"].yanked_reason == "broken ✗"
    assert files["a-1.5.tar.gz"].core_metadata is True
    assert orjson.dumps(files["a-1.0-py3-none-any.whl"].core_metadata) == orjson.dumps(
        {"sha256": "3" * 64}
    )


def test_storing_again_replaces_every_row(engine: Engine) -> None:
    first = _document("a")
    second = _document("a")
    second["releases"] = {"2.0": [_file("a-2.0.tar.gz", packagetype="sdist")]}
    with engine.begin() as conn:
        services.store_document(
            conn, parse_document(first, expected_name="a"), fetched_at=time.time()
        )
    with engine.begin() as conn:
        stored = services.store_document(
            conn, parse_document(second, expected_name="a"), fetched_at=time.time()
        )
    with engine.connect() as conn:
        state = queries.project_state(conn, "a")
        assert state is not None
        read = queries.load_project(conn, state)
    assert read == stored.view
    assert [(r.version, [f.filename for f in r.files]) for r in read.releases] == [
        ("2.0", ["a-2.0.tar.gz"])
    ]


def _release_document(name: str, serial: int) -> dict[str, Any]:
    doc = _document(name)
    del doc["releases"]
    return doc | {"last_serial": serial, "urls": [_file("a-2.0.tar.gz", packagetype="sdist")]}


def _serial(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        state = queries.project_state(conn, name)
    assert state is not None
    return state.last_serial


def test_a_release_document_never_takes_the_project_serial_back(engine: Engine) -> None:
    def store(doc: dict[str, Any]) -> None:
        with engine.begin() as conn:
            parsed = parse_document(doc, expected_name="a")
            services.store_document(conn, parsed, fetched_at=time.time())

    store(_document("a"))  # serial 42
    store(_release_document("a", 40))  # an older copy of one release's page
    assert _serial(engine, "a") == 42
    store(_release_document("a", 50))  # newer: the project has changed since
    assert _serial(engine, "a") == 50


def test_a_release_document_first_sets_the_serial_it_carries(engine: Engine) -> None:
    with engine.begin() as conn:
        parsed = parse_document(_release_document("a", 7), expected_name="a")
        services.store_document(conn, parsed, fetched_at=time.time())
    assert _serial(engine, "a") == 7


def _without_core_metadata(doc: dict[str, Any]) -> dict[str, Any]:
    for files in doc["releases"].values():
        for f in files:
            f.pop("core_metadata", None)
    return doc


def _core_metadata(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        state = queries.project_state(conn, "a")
        assert state is not None
        view = queries.load_project(conn, state)
    return {f.filename: f.core_metadata for r in view.releases for f in r.files}


def test_core_metadata_learnt_later_fills_only_unknown_files(engine: Engine) -> None:
    doc = parse_document(_without_core_metadata(_document("a")), expected_name="a")
    with engine.begin() as conn:
        stored = services.store_document(conn, doc, fetched_at=time.time())
        assert stored.view is not None
        before = stored.view.state.revision
        learnt = {"a-1.0-py3-none-any.whl": {"sha256": "5" * 64}, "a-1.0.tar.gz": False}
        revision = services.add_core_metadata(conn, stored.project_id, learnt)
        services.add_core_metadata(conn, stored.project_id, {"a-1.0.tar.gz": True})
    assert revision != before
    known = _core_metadata(engine)
    assert known["a-1.0-py3-none-any.whl"] == {"sha256": "5" * 64}
    assert known["a-1.0.tar.gz"] is False  # known already: not overwritten
    assert known["a-1.5.tar.gz"] is None


def test_core_metadata_matched_against_a_replaced_revision_is_not_written(
    engine: Engine,
) -> None:
    doc = parse_document(_without_core_metadata(_document("a")), expected_name="a")
    with engine.begin() as conn:
        stored = services.store_document(conn, doc, fetched_at=time.time())
        assert stored.view is not None
    learnt = {"a-1.0.tar.gz": False}
    with engine.begin() as conn:
        refused = services.add_core_metadata(
            conn, stored.project_id, learnt, revision="mine", based_on="an older one"
        )
        assert refused is None
    assert _core_metadata(engine)["a-1.0.tar.gz"] is None
    with engine.begin() as conn:
        current = stored.view.state.revision
        written = services.add_core_metadata(
            conn, stored.project_id, learnt, revision="mine", based_on=current
        )
    assert written == "mine"
    assert _core_metadata(engine)["a-1.0.tar.gz"] is False
    with engine.connect() as conn:
        state = queries.project_state(conn, "a")
        assert state is not None and state.revision == "mine"


def test_a_refresh_keeps_core_metadata_for_the_same_files_only(engine: Engine) -> None:
    with engine.begin() as conn:
        doc = parse_document(_without_core_metadata(_document("a")), expected_name="a")
        first = services.store_document(conn, doc, fetched_at=time.time())
        learnt = {"a-1.0-py3-none-any.whl": {"sha256": "5" * 64}, "a-1.0.tar.gz": False}
        services.add_core_metadata(conn, first.project_id, learnt)
    again = _without_core_metadata(_document("a"))
    again["releases"]["1.0"][0]["digests"] = {"sha256": "9" * 64}  # the sdist: other bytes
    with engine.begin() as conn:
        stored = services.store_document(
            conn, parse_document(again, expected_name="a"), fetched_at=time.time()
        )
    known = _core_metadata(engine)
    assert known["a-1.0-py3-none-any.whl"] == {"sha256": "5" * 64}
    assert known["a-1.0.tar.gz"] is None  # not the file it was known for
    with engine.connect() as conn:
        state = queries.project_state(conn, "a")
        assert state is not None
        assert queries.load_project(conn, state) == stored.view  # the first answer shows it too
    release = _release_document("a", 50)
    release["urls"] = [_file("a-1.0-py3-none-any.whl")]
    release["info"]["version"] = "1.0"
    with engine.begin() as conn:
        parsed = parse_document(release, expected_name="a")
        services.store_document(conn, parsed, fetched_at=time.time())
    assert _core_metadata(engine)["a-1.0-py3-none-any.whl"] == {"sha256": "5" * 64}


def test_a_view_given_core_metadata_is_what_the_rows_read_back(engine: Engine) -> None:
    doc = parse_document(_without_core_metadata(_document("a")), expected_name="a")
    learnt = {"a-1.0-py3-none-any.whl": {"sha256": "5" * 64}, "a-1.5.tar.gz": False}
    with engine.begin() as conn:
        stored = services.store_document(conn, doc, fetched_at=time.time())
        revision = services.add_core_metadata(conn, stored.project_id, learnt)
    assert stored.view is not None
    derived = views.with_core_metadata(stored.view, learnt)
    with engine.connect() as conn:
        state = queries.project_state(conn, "a")
        assert state is not None and state.revision == revision
        assert queries.load_project(conn, state).releases == derived.releases
