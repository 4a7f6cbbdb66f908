"""What reading a stored PyPI project costs in process: every release and file of a
500-release project (1,000 files), as a cold Simple page or JSON API answer reads it
(``queries.load_project``), and whether a project has files of unknown core metadata, asked
before each Simple page made of a stored project (``queries.any_core_metadata_unknown``).

The naive baselines, in the same run over the same database: the project read through
SQLAlchemy's rows (their type processors, then each row's values made into a file), and the
unknown files found through the project's index, by SQLAlchemy's execution, as a plain
``EXISTS`` does. Each timing is the p50 back to back, with the cyclic garbage collector
paused as pkgdex pauses it (``collector.py``). SQLite by default; ``--database-url`` for
PostgreSQL, in a schema of its own made for the run and dropped after it. There the planner
picks the index for the naive check too: only SQLite takes the hint that keeps it to the
project's index.

    .venv/bin/python benchmarks/metadata_stored_read.py [--projects 20] [--releases 500]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, select, text

from measure import percentiles, timed_paused

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pkgdex import db
from pkgdex.metadata import queries, services
from pkgdex.metadata.models import metadata_files, metadata_projects, metadata_releases
from pkgdex.metadata.queries import FileRow, ProjectState, ProjectView, ReleaseRow
from pkgdex.metadata.versions import newest_first
from support.fake_pypi import big_project, fresh_major
from support.imports import import_projects

Row = tuple[str, str]
_FILE_COLUMNS = [c for c in metadata_files.c if c.name not in ("id", "project_id")]


def naive_load(conn: Connection, state: ProjectState) -> ProjectView:
    """The project through SQLAlchemy's rows, each row's values made into a file."""
    files: dict[int, list[FileRow]] = {}
    rows = conn.execute(select(*_FILE_COLUMNS).where(metadata_files.c.project_id == state.id))
    for row in rows:
        values = row._asdict()
        release_id = values.pop("release_id")
        core = values.pop("core_metadata")
        file = FileRow(**values, core_metadata=None if core is None else orjson.loads(core))
        files.setdefault(release_id, []).append(file)
    releases = [
        ReleaseRow(
            row.id,
            row.version,
            row.yanked,
            row.yanked_reason,
            row.requires_python,
            None if row.info is None else orjson.loads(row.info),
            tuple(sorted(files.get(row.id, ()), key=lambda f: f.filename)),
        )
        for row in conn.execute(
            select(metadata_releases).where(metadata_releases.c.project_id == state.id)
        )
    ]
    described = conn.execute(
        select(metadata_projects.c.described_version).where(metadata_projects.c.id == state.id)
    ).scalar_one_or_none()
    return ProjectView(state, tuple(newest_first(releases)), described)


def naive_any_unknown(conn: Connection, project_id: int) -> bool:
    """Through the project's index (SQLite is told to use it): every file of the project is
    read until an unknown one is found."""
    index = " INDEXED BY ix_metadata_files_project_id" if conn.dialect.name == "sqlite" else ""
    sql = (
        f"SELECT EXISTS (SELECT id FROM metadata_files{index}"
        " WHERE project_id = :id AND core_metadata IS NULL)"
    )
    return bool(conn.execute(text(sql), {"id": project_id}).scalar())


def stored(engine: Engine, projects: int, releases: int, scratch: Path) -> list[ProjectState]:
    """``projects`` big projects imported, the first half with every file's core metadata
    known (as after their first Simple page), the rest unknown (as imported)."""
    made = [big_project(f"read-{i}", releases, first_major=fresh_major(i)) for i in range(projects)]
    import_projects(engine, made, scratch)
    with engine.begin() as conn:
        states = [queries.project_state(conn, p.name) for p in made]
        for state in states[: projects // 2]:
            assert state is not None
            names = conn.execute(
                select(metadata_files.c.filename).where(metadata_files.c.project_id == state.id)
            ).scalars()
            services.add_core_metadata(conn, state.id, dict.fromkeys(names, False))
        return [s for s in (queries.project_state(conn, p.name) for p in made) if s]


def p50(fn: Any, count: int) -> float:
    return percentiles(timed_paused(fn, count))[0]


@contextmanager
def own_schema(url: str) -> Iterator[str]:
    """``url`` with a PostgreSQL schema of its own first on its search path, dropped after:
    the database's own tables are never touched."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = db.make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in url else "?"
        yield f"{url}{sep}options=-csearch_path%3D{schema},public"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run(url: str | None, projects: int, releases: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        if url is None:
            url = f"sqlite:///{Path(tmp) / 'read.db'}"
        elif url.startswith("postgresql"):
            url = stack.enter_context(own_schema(url))
        db.upgrade(url)
        engine = db.make_engine(url)
        try:
            states = stored(engine, projects, releases, Path(tmp))
            known, unknown = states[: projects // 2], states[projects // 2 :]
            with engine.connect() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("ANALYZE metadata_files"))
                assert naive_load(conn, states[0]) == queries.load_project(conn, states[0])
                cycle = [0]

                def each(fn: Any, among: list[ProjectState]) -> Any:
                    def one() -> object:
                        cycle[0] += 1
                        return fn(conn, among[cycle[0] % len(among)])

                    return one

                def any_unknown(c: Connection, state: ProjectState) -> bool:
                    return queries.any_core_metadata_unknown(c, state)

                def naive_unknown(c: Connection, state: ProjectState) -> bool:
                    return naive_any_unknown(c, state.id)

                cases = [
                    ("read, naive: SQLAlchemy's rows, made into files", naive_load, states),
                    (
                        "read, pkgdex: the driver's rows (`load_project`)",
                        queries.load_project,
                        states,
                    ),
                    ("unknown, naive: by the project's index, all known", naive_unknown, known),
                    ("unknown, pkgdex: the partial index, all known", any_unknown, known),
                    ("unknown, naive: by the project's index, all unknown", naive_unknown, unknown),
                    ("unknown, pkgdex: the partial index, all unknown", any_unknown, unknown),
                ]
                count = 10 * projects
                return [(label, f"{p50(each(fn, among), count):.3f}") for label, fn, among in cases]
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(f"| {args.releases}-release project, p50 ms | back to back |")
    print("|---|---:|")
    for label, value in run(args.database_url, args.projects, args.releases):
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
