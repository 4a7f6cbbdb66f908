"""Aggregate BigQuery download-log exports (NDJSON, gzip or not, and Parquet) with DuckDB.

All NDJSON files are scanned once, together and streaming, and so are the Parquet files of
each schema (SQL in :mod:`pkgdex.downloads.sources`): identical raw rows are grouped into a table
of distinct combinations (``cube``, rules in :mod:`pkgdex.downloads.categories`), and the
per-day breakdowns are sums over it, so memory follows the number of distinct combinations, not
the number of rows. DuckDB runs with a memory limit, two threads and a spill directory.

Bad input policy:

* a file that cannot be read as a whole (truncated or corrupt gzip, unreadable Parquet, a
  Parquet file without the fields we need, a missing file) fails the whole ingest with the file
  named; nothing is written;
* inside a readable NDJSON file, bad lines are skipped and counted: lines that are not a JSON
  object (``malformed_json``), fields of the wrong JSON type (``wrong_type``), rows without a
  usable timestamp (``missing_timestamp`` / ``invalid_timestamp``), without project
  (``missing_project``) or with a malformed Python version (``invalid_python``). DuckDB's
  ``ignore_errors`` would turn a broken line into a row of NULLs that cannot be told apart from a
  row without timestamp, so instead a file DuckDB refuses is re-read line by line in Python,
  which sets the bad lines aside (with their line numbers, :mod:`pkgdex.downloads.badlines`)
  and hands the rest back to DuckDB.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from pkgdex.downloads import categories
from pkgdex.downloads.badlines import open_lines, set_bad_lines_aside
from pkgdex.downloads.sources import JSON_COLUMNS, JSON_SOURCE, IngestError, parquet_source

__all__ = ["Aggregation", "IngestError", "aggregate_files", "expand_inputs", "scratch_directory"]

JSON_SUFFIXES = (".ndjson", ".json", ".jsonl")
PARQUET_SUFFIXES = (".parquet",)
PROGRESS_INTERVAL = 0.25  # seconds

CUBE_COLUMNS = (
    "day DATE, reason VARCHAR, package VARCHAR, ci BOOLEAN, counted BOOLEAN, "
    "python_major VARCHAR, python_minor VARCHAR, system VARCHAR, installer VARCHAR, "
    "version VARCHAR, n BIGINT"
)


@dataclass
class Aggregation:
    """The result of scanning the inputs: daily rows to write and what was read per day."""

    connection: Any  # duckdb.DuckDBPyConnection holding the ``cube`` table
    files: list[Path]
    rows_read: dict[date | None, int] = field(default_factory=dict)
    rejected: dict[date | None, dict[str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def days(self) -> list[date]:
        """Days with at least one accepted row: the days this ingest replaces."""
        return sorted(
            day
            for day, count in self.rows_read.items()
            if day is not None and count > sum(self.rejected.get(day, {}).values())
        )

    def daily_rows(self, batch: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
        """``(package, breakdown, date, category, ci, downloads)`` rows, ``__all__`` included."""
        cursor = self.connection.execute(categories.DAILY_SQL)
        while rows := cursor.fetchmany(batch):
            yield rows


def expand_inputs(paths: list[str]) -> list[Path]:
    """Files named by ``paths``: files, directories (searched recursively) and globs."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if any(ch in raw for ch in "*?["):
            anchor = Path(path.anchor) if path.is_absolute() else Path()
            pattern = str(path.relative_to(anchor)) if path.is_absolute() else raw
            found.extend(sorted(p for p in anchor.glob(pattern) if p.is_file()))
        elif path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and _kind(p)))
        elif path.is_file():
            found.append(path)
        else:
            raise IngestError(f"{raw}: no such file or directory")
    unknown = [p for p in found if not _kind(p)]
    if unknown:
        raise IngestError(f"{unknown[0]}: not .ndjson/.json/.jsonl (optionally .gz) or .parquet")
    if not found:
        raise IngestError(f"no input files in {', '.join(paths)}")
    return list(dict.fromkeys(found))


def _kind(path: Path) -> str | None:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(JSON_SUFFIXES):
        return "json"
    if path.name.lower().endswith(PARQUET_SUFFIXES):
        return "parquet"
    return None


def connect(scratch: Path, memory_limit: str = "1GB") -> Any:
    """A DuckDB connection with bounded memory that spills to ``scratch``."""
    connection = duckdb.connect(
        ":memory:",
        config={
            "memory_limit": memory_limit,
            "threads": 2,
            "temp_directory": str(scratch),
            "preserve_insertion_order": False,
        },
    )
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute("SET enable_progress_bar = true")  # for query_progress(), never printed
    connection.execute("SET enable_progress_bar_print = false")
    connection.execute(f"CREATE TABLE cube ({CUBE_COLUMNS})")
    return connection


def aggregate_files(
    files: list[Path],
    scratch: Path,
    *,
    on_progress: Callable[[float], None] | None = None,
    memory_limit: str = "1GB",
) -> Aggregation:
    """Scan every file into one aggregation; raise :class:`IngestError` on unreadable input.

    All NDJSON files go through one scan, and all Parquet files of one schema through another:
    a single hash aggregation over every file costs a fraction of one per file, since the same
    combinations recur from file to file. ``on_progress`` gets the fraction done (0..1).
    """
    connection = connect(scratch, memory_limit)
    result = Aggregation(connection, files)
    result.problems.extend(f"{path}: no rows" for path in files if _is_empty(path))
    scans: list[tuple[str, list[Path]]] = []
    json_files = [path for path in files if _kind(path) == "json"]
    if json_files:
        scans.append((JSON_SOURCE, json_files))
    parquet: dict[str, list[Path]] = {}
    for path in files:
        if _kind(path) == "parquet":
            parquet.setdefault(parquet_source(path), []).append(path)
    scans.extend(parquet.items())
    done = 0.0
    for source, paths in scans:
        share = len(paths) / len(files)
        with _reporting(connection, on_progress, done, share):
            if source == JSON_SOURCE:
                _aggregate_json(connection, paths, scratch, result)
            else:
                _aggregate_parquet(connection, source, paths)
        done += share
    _read_day_stats(result)
    return result


@contextmanager
def _reporting(
    connection: Any, on_progress: Callable[[float], None] | None, done: float, share: float
) -> Iterator[None]:
    """Report DuckDB's progress through the running statement, polled from a thread."""
    if on_progress is None:
        yield
        return
    finished = threading.Event()

    def poll() -> None:
        while not finished.wait(PROGRESS_INTERVAL):
            percent = connection.query_progress()
            if percent >= 0:
                on_progress(done + share * min(percent, 100.0) / 100.0)

    watcher = threading.Thread(target=poll, name="ingest-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        watcher.join()
        on_progress(done + share)


def _aggregate_parquet(connection: Any, source: str, paths: list[Path]) -> None:
    try:
        connection.execute(
            f"INSERT INTO cube {categories.cube_sql(source)}", {"paths": [str(p) for p in paths]}
        )
    except duckdb.Error as exc:
        if len(paths) == 1:
            raise IngestError(f"{paths[0]}: {_first_line(exc)}") from exc
        for path in paths:  # the failed statement left nothing behind: find the culprit
            _aggregate_parquet(connection, source, [path])


def _is_empty(path: Path) -> bool:
    """No rows at all (checked up front: the scans below read many files at once)."""
    try:
        if _kind(path) == "parquet":
            import pyarrow.parquet as pq

            return bool(pq.read_metadata(path).num_rows == 0)
        with open_lines(path) as lines:
            return not any(line.strip() for line in itertools.islice(lines, 100))
    except Exception:  # unreadable: the scan reports it with the reason
        return False


def _insert_cube(connection: Any, source: str, params: dict[str, Any], path: Path) -> None:
    sql = f"INSERT INTO cube {categories.cube_sql(source)}"
    try:
        connection.execute(sql, params)
    except duckdb.Error as exc:
        raise IngestError(f"{path}: {_first_line(exc)}") from exc


def _aggregate_json(
    connection: Any, paths: list[Path], scratch: Path, result: Aggregation
) -> None:
    """Scan ``paths`` together (DuckDB reads them in parallel); one by one if that fails."""
    if len(paths) > 1:
        params = {"paths": [str(path) for path in paths], "columns": JSON_COLUMNS}
        try:
            connection.execute(f"INSERT INTO cube {categories.cube_sql(JSON_SOURCE)}", params)
            return
        except duckdb.Error:
            pass  # the statement left nothing behind; find the culprit file by file
    for path in paths:
        _aggregate_json_file(connection, path, scratch, result)


def _aggregate_json_file(
    connection: Any, path: Path, scratch: Path, result: Aggregation
) -> None:
    try:
        connection.execute(
            f"INSERT INTO cube {categories.cube_sql(JSON_SOURCE)}",
            {"paths": [str(path)], "columns": JSON_COLUMNS},
        )
        return
    except duckdb.InvalidInputException:
        pass  # a bad line somewhere: set the bad lines aside below
    except duckdb.Error as exc:
        raise IngestError(f"{path}: {_first_line(exc)}") from exc
    handle, name = tempfile.mkstemp(suffix=".ndjson", dir=scratch)
    os.close(handle)
    clean = Path(name)
    rejected = set_bad_lines_aside(path, clean, result.problems)
    for (day, reason), count in rejected.items():
        connection.execute(
            "INSERT INTO cube (day, reason, n) VALUES ($day, $reason, $n)",
            {"day": day, "reason": reason, "n": count},
        )
    _insert_cube(connection, JSON_SOURCE, {"paths": [str(clean)], "columns": JSON_COLUMNS}, path)
    clean.unlink()


def _read_day_stats(result: Aggregation) -> None:
    for day, reason, count in result.connection.execute(categories.DAY_STATS_SQL).fetchall():
        result.rows_read[day] = result.rows_read.get(day, 0) + int(count)
        if reason is not None:
            reasons = result.rejected.setdefault(day, {})
            reasons[reason] = reasons.get(reason, 0) + int(count)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__


def scratch_directory(parent: str | None = None) -> Path:
    """A private spill directory for DuckDB; remove it with :func:`remove_scratch`."""
    return Path(tempfile.mkdtemp(prefix="pkgdex-ingest-", dir=parent))


def remove_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
