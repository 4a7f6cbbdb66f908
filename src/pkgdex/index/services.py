"""Writing the name index: staging a load beside the serving generation, then swapping.

A load runs on one connection: rows are staged in a TEMP table (gone by itself if the process
dies), numbered, copied into ``index_entries`` as generation ``gen + 1`` in key order, indexed
for substring search, and only then made current by one short UPDATE of ``index_state``. Until
that commit readers keep using the previous generation; whatever a killed load left behind in
``index_entries`` or the spare FTS slot is cleared by the next load (``clear_leftovers``).
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from pkgdex.index.keys import END, check_ecosystem, search_key
from pkgdex.index.search import fts_table, pg_prepare, sqlite_count_grams
from pkgdex.index.sources import (
    PYPI_NAME,
    BadRow,
    Row,
    SourceError,
    shown_summary,
    valid_version,
)
from pkgdex.index.sync import Change

BULK_AUTOMERGE, DEFAULT_AUTOMERGE = 16, 4  # FTS5 segments merged at once: building, serving

LOCK_WAIT_SECONDS = 10.0
StagedRow = tuple[int, str, str, str, str | None, int | None, str | None]


@dataclass(frozen=True, slots=True)
class Serving:
    gen: int
    total: int
    changes_seq: str | None = None


def ensure_state(conn: Connection, ecosystem: str) -> Serving:
    """The serving generation (creating the ecosystem's state row on first use)."""
    check_ecosystem(ecosystem)
    row = conn.execute(
        text("SELECT gen, total, changes_seq FROM index_state WHERE ecosystem = :eco"),
        {"eco": ecosystem},
    ).first()
    if row is None:
        conn.execute(text("INSERT INTO index_state (ecosystem) VALUES (:eco)"), {"eco": ecosystem})
        conn.commit()
        return Serving(0, 0)
    return Serving(row.gen, row.total, row.changes_seq)


class LoadInProgressError(SourceError):
    """Another load of the same ecosystem holds the load lock."""


@contextmanager
def load_lock(conn: Connection, ecosystem: str) -> Iterator[None]:
    """One load per ecosystem at a time, across processes; a dead loader's lock goes with it.

    A second load would treat the first one's unfinished generation as leftovers of a killed
    load and delete it mid-build. PostgreSQL: a session advisory lock. SQLite: ``flock`` on a
    file beside the database (both are released by the operating system or server when the
    holder dies).
    """
    if conn.dialect.name != "sqlite":
        # Keyed by schema too: several pkgdex databases may share one PostgreSQL database.
        tag = {"tag": f"/index-load/{ecosystem}"}
        try_lock = text("SELECT pg_try_advisory_lock(hashtext(current_schema() || :tag))")
        deadline = time.monotonic() + LOCK_WAIT_SECONDS  # a killed load's session may linger
        while not conn.execute(try_lock, tag).scalar():
            if time.monotonic() > deadline:
                raise LoadInProgressError(f"another load of the {ecosystem} index is running")
            time.sleep(0.2)
        try:
            yield
        finally:
            conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(current_schema() || :tag))"), tag)
            conn.commit()
        return
    database = conn.engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with Path(f"{database}.{ecosystem}-load.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LoadInProgressError(f"another load of the {ecosystem} index is running") from exc
        yield


def clear_leftovers(conn: Connection, ecosystem: str, serving_gen: int) -> None:
    """Remove every generation but the serving one (an old one, or a killed load's)."""
    conn.execute(
        text("DELETE FROM index_entries WHERE ecosystem = :eco AND gen <> :gen"),
        {"eco": ecosystem, "gen": serving_gen},
    )
    if conn.dialect.name == "sqlite":
        spare = fts_table(ecosystem, serving_gen + 1)
        conn.execute(text(f"INSERT INTO {spare}({spare}) VALUES ('delete-all')"))  # noqa: S608
    conn.commit()


def to_staged(ecosystem: str, row: Row) -> StagedRow | BadRow:
    if ecosystem == "pypi" and not PYPI_NAME.match(row.name):
        return BadRow(row.line, f"not a valid PyPI project name: {row.name[:60]!r}")
    key = search_key(ecosystem, row.name)
    return (row.line, key, row.name, row.version, row.summary, row.popularity, row.month)


def create_stage(conn: Connection) -> None:
    key_type = "TEXT" if conn.dialect.name == "sqlite" else 'TEXT COLLATE "C"'
    conn.exec_driver_sql("DROP TABLE IF EXISTS tmp_index_rows")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE tmp_index_rows (line INTEGER PRIMARY KEY, key {key_type} NOT NULL, "
        "name TEXT NOT NULL, version TEXT NOT NULL, summary TEXT, popularity BIGINT, month TEXT)"
    )


def stage_rows(conn: Connection, rows: list[StagedRow]) -> None:
    """Bulk-insert one batch: COPY on PostgreSQL, executemany on SQLite."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if conn.dialect.name == "sqlite":
        # Straight to the driver: SQLAlchemy's per-row parameter handling would double the time.
        cursor.executemany("INSERT INTO tmp_index_rows VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        return
    with cursor.copy("COPY tmp_index_rows FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def duplicate_row(row: StagedRow) -> BadRow:
    """A row repeating an earlier row's key is a bad row; the first one wins."""
    return BadRow(row[0], f"duplicate of an earlier name: {row[2][:60]!r}")


def index_stage(conn: Connection) -> None:
    """Index the staged keys: numbering and the copy then read them in key order."""
    conn.exec_driver_sql("CREATE INDEX tmp_index_rows_key ON tmp_index_rows (key, line)")


def number_new_names(conn: Connection, ecosystem: str) -> int:
    """Give names never seen before the next numbers, in source order; returns how many."""
    base = conn.execute(
        text("SELECT coalesce(max(no), 0) FROM index_numbers WHERE ecosystem = :eco"),
        {"eco": ecosystem},
    ).scalar_one()
    result = conn.execute(
        text(
            "INSERT INTO index_numbers (ecosystem, key, no) "
            "SELECT CAST(:eco AS VARCHAR(16)), key, :base + row_number() OVER (ORDER BY line) "
            "FROM tmp_index_rows s WHERE NOT EXISTS (SELECT 1 FROM index_numbers n "
            "WHERE n.ecosystem = :eco AND n.key = s.key) "
            "ORDER BY key"  # appends to the key index instead of inserting all over it
        ),
        {"eco": ecosystem, "base": base},
    )
    conn.commit()
    return result.rowcount


_COPY_STAGED = (
    "INSERT INTO index_entries "
    "(ecosystem, gen, key, name, no, bpos, version, summary, popularity, month) "
    "SELECT CAST(:eco AS VARCHAR(16)), :gen, s.key, s.name, n.no, "
    "row_number() OVER (ORDER BY n.no), "
    "{columns} FROM tmp_index_rows s "
    "JOIN index_numbers n ON n.ecosystem = :eco AND n.key = s.key {join} ORDER BY s.key"
)
COPY_STAGED = text(
    _COPY_STAGED.format(columns="s.version, s.summary, s.popularity, s.month", join="")
)
COPY_STAGED_KEEPING_DETAILS = text(
    _COPY_STAGED.format(
        columns="coalesce(o.version, s.version), coalesce(s.summary, o.summary), "
        "coalesce(s.popularity, o.popularity), coalesce(s.month, o.month)",
        join="LEFT JOIN index_entries o ON o.ecosystem = :eco AND o.gen = :old AND o.key = s.key",
    )
)


def build_generation(
    conn: Connection, ecosystem: str, gen: int, details_from: int | None = None
) -> tuple[int, int, int]:
    """Copy the staged rows into generation ``gen`` in key order: (first id, last id, count).

    Name-only sources carry no versions or summaries: with ``details_from`` (the serving
    generation) a name keeps the details it already had instead of dropping to "latest".
    """
    statement = COPY_STAGED if details_from is None else COPY_STAGED_KEEPING_DETAILS
    conn.execute(statement, {"eco": ecosystem, "gen": gen, "old": details_from})
    written = generation_range(conn, ecosystem, gen)
    conn.commit()
    return written


def generation_range(conn: Connection, ecosystem: str, gen: int) -> tuple[int, int, int]:
    """A written generation's first id, last id and row count (ids follow key order)."""
    first, last, count = conn.execute(
        text(
            "SELECT coalesce(min(id), 0), coalesce(max(id), 0), count(*) FROM index_entries "
            "WHERE ecosystem = :eco AND gen = :gen"
        ),
        {"eco": ecosystem, "gen": gen},
    ).one()
    return int(first), int(last), int(count)


def build_search_index(conn: Connection, ecosystem: str, gen: int) -> None:
    """Fill the generation's FTS5 slot (SQLite); PostgreSQL's GIN indexes are kept by
    themselves; the generation's gram counts are taken (both) and the statistics refreshed."""
    if conn.dialect.name != "sqlite":
        pg_prepare(conn, ecosystem, gen)
        return
    table = fts_table(ecosystem, gen)
    with merging_later(conn, ecosystem, gen):
        conn.execute(
            text(
                f"INSERT INTO {table} (rowid, key) SELECT id, key || :end FROM index_entries "  # noqa: S608
                "WHERE ecosystem = :eco AND gen = :gen ORDER BY id"
            ),
            {"eco": ecosystem, "gen": gen, "end": END},
        )
        sqlite_count_grams(conn, ecosystem, gen)
        conn.commit()


@contextmanager
def merging_later(conn: Connection, ecosystem: str, gen: int) -> Iterator[None]:
    """Let the FTS5 build of a whole generation merge its segments less often.

    FTS5 merges level by level once ``automerge`` segments pile up (4 by default); a bulk
    build spends a sixth of its time there. With 16 it merges later and in bigger steps, at
    the cost of a few more segments per search (a fraction of a millisecond). The setting is
    stored in the table, so it goes back to the default for the single-name inserts after.
    """
    table = fts_table(ecosystem, gen)
    setting = text(f"INSERT INTO {table} ({table}, rank) VALUES ('automerge', :pages)")  # noqa: S608
    conn.execute(setting, {"pages": BULK_AUTOMERGE})
    try:
        yield
    finally:
        conn.execute(setting, {"pages": DEFAULT_AUTOMERGE})
        conn.commit()


def count_common(conn: Connection, ecosystem: str, old_gen: int, new_gen: int) -> int:
    """How many names of the new generation the old one had too."""
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM index_entries n WHERE n.ecosystem = :eco AND n.gen = :new "
                "AND EXISTS (SELECT 1 FROM index_entries o WHERE o.ecosystem = :eco "
                "AND o.gen = :old AND o.key = n.key)"
            ),
            {"eco": ecosystem, "old": old_gen, "new": new_gen},
        ).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class Swap:
    gen: int
    first_id: int
    last_id: int
    total: int
    source: str
    format: str


def swap_in(conn: Connection, ecosystem: str, swap: Swap) -> None:
    """Make generation ``swap.gen`` the one readers see: one short transaction."""
    conn.execute(
        text(
            "UPDATE index_state SET gen = :gen, first_id = :first_id, last_id = :last_id, "
            "total = :total, loaded = :loaded, last_updated = :now, source = :source, "
            "format = :format WHERE ecosystem = :eco"
        ),
        {**asdict(swap), "eco": ecosystem, "loaded": True, "now": datetime.now(UTC)},
    )
    conn.commit()


def record_seen(
    engine: Engine, ecosystem: str, name: str, version: str | None, summary: str | None
) -> None:
    """Add or refresh one name in the serving generation, without a full load. A version
    the index cannot hold is left out, as a load leaves it."""
    if version is not None and not valid_version(version):
        version = None
    with engine.connect() as conn:
        serving = ensure_state(conn, check_ecosystem(ecosystem))
        _upsert(conn, ecosystem, serving.gen, name, version, shown_summary(summary))
        conn.commit()


def apply_changes(
    engine: Engine, ecosystem: str, changes: Iterable[Change], seq: str
) -> tuple[int, int]:
    """Apply one page of a changes feed and store its sequence; returns (added, removed)."""
    added = removed = 0
    with engine.connect() as conn:
        gen = ensure_state(conn, ecosystem).gen
        for change in changes:
            if change.deleted:
                removed += _delete(conn, ecosystem, gen, change.name)
            else:
                added += _upsert(conn, ecosystem, gen, change.name, None, None)
        conn.execute(
            text(
                "UPDATE index_state SET changes_seq = :seq, loaded = :loaded, "
                "last_updated = :now WHERE ecosystem = :eco"
            ),
            {"eco": ecosystem, "seq": seq, "loaded": True, "now": datetime.now(UTC)},
        )
        conn.commit()
    return added, removed


def _delete(conn: Connection, ecosystem: str, gen: int, name: str) -> int:
    # The FTS row may stay behind: every search hit is joined back to index_entries.
    params = {"eco": ecosystem, "gen": gen, "key": search_key(ecosystem, name)}
    deleted = conn.execute(
        text("DELETE FROM index_entries WHERE ecosystem = :eco AND gen = :gen AND key = :key"),
        params,
    ).rowcount
    if deleted:
        conn.execute(
            text("UPDATE index_state SET total = total - 1 WHERE ecosystem = :eco"), params
        )
    return int(deleted)


def _upsert(
    conn: Connection,
    ecosystem: str,
    gen: int,
    name: str,
    version: str | None,
    summary: str | None,
) -> int:
    """Refresh the name's row, or add it; returns 1 when it was added."""
    values = {
        "eco": ecosystem,
        "gen": gen,
        "key": search_key(ecosystem, name),
        "name": name,
        "version": version,
        "summary": summary,
    }
    updated = conn.execute(
        text(
            "UPDATE index_entries SET name = :name, version = coalesce(:version, version), "
            "summary = coalesce(:summary, summary) "
            "WHERE ecosystem = :eco AND gen = :gen AND key = :key"
        ),
        values,
    )
    if updated.rowcount:
        return 0
    _insert_one(conn, {**values, "version": version or "latest"})
    return 1


def _insert_one(conn: Connection, values: dict[str, object]) -> None:
    no = _number_for(conn, str(values["eco"]), str(values["key"]))
    bpos = conn.execute(
        text(
            "SELECT coalesce(max(bpos), 0) + 1 FROM index_entries "
            "WHERE ecosystem = :eco AND gen = :gen"
        ),
        values,
    ).scalar_one()
    new_id = conn.execute(
        text(
            "INSERT INTO index_entries (ecosystem, gen, key, name, no, bpos, version, summary) "
            "VALUES (:eco, :gen, :key, :name, :no, :bpos, :version, :summary) RETURNING id"
        ),
        {**values, "no": no, "bpos": bpos},
    ).scalar_one()
    if conn.dialect.name == "sqlite":
        table = fts_table(str(values["eco"]), int(str(values["gen"])))
        conn.execute(
            text(f"INSERT INTO {table} (rowid, key) VALUES (:id, :key)"),  # noqa: S608
            {"id": new_id, "key": f"{values['key']}{END}"},
        )
    conn.execute(text("UPDATE index_state SET total = total + 1 WHERE ecosystem = :eco"), values)


def _number_for(conn: Connection, ecosystem: str, key: str) -> int:
    params = {"eco": ecosystem, "key": key}
    known = conn.execute(
        text("SELECT no FROM index_numbers WHERE ecosystem = :eco AND key = :key"), params
    ).scalar()
    if known is not None:
        return int(known)
    conn.execute(
        text(
            "INSERT INTO index_numbers (ecosystem, key, no) "
            "SELECT CAST(:eco AS VARCHAR(16)), :key, coalesce(max(no), 0) + 1 "
            "FROM index_numbers WHERE ecosystem = :eco"
        ),
        params,
    )
    return int(
        conn.execute(
            text("SELECT no FROM index_numbers WHERE ecosystem = :eco AND key = :key"), params
        ).scalar_one()
    )
