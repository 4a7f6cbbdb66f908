"""Aggregate BigQuery download-log exports (NDJSON, gzip or not, and Parquet) with DuckDB.

Each input file is scanned once, streaming, into a small table of distinct combinations
(``cube``, see :mod:`pkgdex.downloads.categories`); the per-day breakdowns are sums over it, so
memory depends on the number of distinct categories, not on the number of rows. DuckDB runs with
a memory limit, two threads and a spill directory.

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
  which sets the bad lines aside (with their line numbers) and hands the rest back to DuckDB.
"""

from __future__ import annotations

import gzip
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
from typing import IO, Any

import duckdb
import orjson

from pkgdex.downloads import categories

JSON_SUFFIXES = (".ndjson", ".json", ".jsonl")
PARQUET_SUFFIXES = (".parquet",)
MAX_PROBLEMS = 20
PROGRESS_INTERVAL = 0.25  # seconds

# JSON leaves are read as JSON so a wrong type is seen instead of silently cast.
JSON_COLUMNS = {
    "timestamp": "JSON",
    "project": "JSON",
    "file": "STRUCT(project JSON, version JSON)",
    "details": "STRUCT(installer STRUCT(name JSON), python JSON, system STRUCT(name JSON), "
    "ci JSON)",
}
_STRINGS = ("project", "file_project", "python", "installer", "system", "version")
_TEXT_DAY = "try_cast(substr({0}, 1, 10) AS DATE)"

# Pass 1 groups identical rows (the timestamp cut to its day, still as JSON text, so a
# non-string is recognisable by its missing quote); pass 2 checks and decodes the groups.
JSON_SOURCE = f"""
    WITH scan AS (
        SELECT
            substr(timestamp::VARCHAR, 1, 11) AS stamp, project, file.project AS file_project,
            details.python AS python, details.installer.name AS installer,
            details.system.name AS system, file.version AS version, details.ci AS ci,
            count(*) AS n
        FROM read_json($paths, format = 'newline_delimited', columns = $columns)
        GROUP BY ALL
    )
    SELECT
        CASE WHEN stamp LIKE '"%' THEN {_TEXT_DAY.format("substr(stamp, 2)")} END AS day,
        CASE
            WHEN stamp IS NULL OR stamp = 'null' THEN 'missing_timestamp'
            WHEN stamp NOT LIKE '"%' OR {_TEXT_DAY.format("substr(stamp, 2)")} IS NULL
                THEN 'invalid_timestamp'
            WHEN NOT ({" AND ".join(
                f"coalesce(json_type({name}), 'NULL') IN ('VARCHAR', 'NULL')" for name in _STRINGS
            )} AND coalesce(json_type(ci), 'NULL') IN ('BOOLEAN', 'NULL'))
                THEN 'wrong_type'
        END AS bad,
        coalesce(nullif(project->>'$', ''), nullif(file_project->>'$', '')) AS project,
        python->>'$' AS python,
        installer->>'$' AS installer,
        system->>'$' AS system,
        version->>'$' AS version,
        ci::VARCHAR = 'true' AS ci,
        n
    FROM scan"""  # noqa: S608 (fixed SQL; values are bound parameters)

CUBE_COLUMNS = (
    "day DATE, reason VARCHAR, package VARCHAR, ci BOOLEAN, counted BOOLEAN, "
    "python_major VARCHAR, python_minor VARCHAR, system VARCHAR, installer VARCHAR, "
    "version VARCHAR, n BIGINT"
)


class IngestError(Exception):
    """An input that cannot be ingested; the message names the file and the problem."""


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
            parquet.setdefault(_parquet_source(path), []).append(path)
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
        with _open_lines(path) as lines:
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
    rejected = _set_bad_lines_aside(path, clean, result.problems)
    for (day, reason), count in rejected.items():
        connection.execute(
            "INSERT INTO cube (day, reason, n) VALUES ($day, $reason, $n)",
            {"day": day, "reason": reason, "n": count},
        )
    _insert_cube(connection, JSON_SOURCE, {"paths": [str(clean)], "columns": JSON_COLUMNS}, path)
    clean.unlink()


def _open_lines(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _set_bad_lines_aside(
    source: Path, clean: Path, problems: list[str]
) -> dict[tuple[date | None, str], int]:
    """Copy the usable lines of ``source`` to ``clean``; count the others by (day, reason)."""
    rejected: dict[tuple[date | None, str], int] = {}
    try:
        with _open_lines(source) as lines, clean.open("wb") as out:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                reason, day = _line_problem(line)
                if reason is None:
                    out.write(line.rstrip(b"\r\n") + b"\n")
                    continue
                rejected[day, reason] = rejected.get((day, reason), 0) + 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(f"{source} line {number}: {reason.replace('_', ' ')}")
    except (OSError, EOFError) as exc:
        raise IngestError(f"{source}: {exc}") from exc
    return rejected


def _line_problem(line: bytes) -> tuple[str | None, date | None]:
    """Why DuckDB cannot read this line as a download row (None when it can)."""
    try:
        row = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "malformed_json", None
    if not isinstance(row, dict):
        return "malformed_json", None
    details = row.get("details")
    shapes = (
        row.get("file"),
        details,
        details.get("installer") if isinstance(details, dict) else None,
        details.get("system") if isinstance(details, dict) else None,
    )
    if all(part is None or isinstance(part, dict) for part in shapes):
        return None, None
    return "wrong_type", _day_of(row.get("timestamp"))


def _day_of(stamp: object) -> date | None:
    if not isinstance(stamp, str):
        return None
    try:
        return date.fromisoformat(stamp[:10])
    except ValueError:
        return None


def _parquet_source(path: Path) -> str:
    """SQL reading ``path`` into the ``src`` shape, after checking it has the fields we need."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise IngestError(f"{path}: not a readable Parquet file ({exc})") from exc
    fields = dict(_flatten(schema))
    needed = ["timestamp", "details.python", "details.installer.name",
              "details.system.name", "details.ci", "file.version"]
    missing = [name for name in needed if name not in fields]
    if "project" not in fields and "file.project" not in fields:
        missing.append("project or file.project")
    if missing:
        raise IngestError(
            f"{path}: Parquet file lacks the download-log field(s) {', '.join(missing)} "
            f"(it has {', '.join(sorted(fields)) or 'no columns'})"
        )
    stamp = fields["timestamp"]
    if pa.types.is_timestamp(stamp) or pa.types.is_date(stamp):
        day = "CAST(timestamp AS DATE)"
    elif pa.types.is_string(stamp) or pa.types.is_large_string(stamp):
        day = _TEXT_DAY.format("timestamp")
    else:
        raise IngestError(f"{path}: column timestamp has type {stamp}, expected a timestamp")
    names = [n for n in ("project", "file.project") if n in fields]
    project = "coalesce(" + ", ".join(f"nullif({_cast(fields, n)}, '')" for n in names) + ")"
    return f"""
        SELECT
            {day} AS day,
            CASE WHEN timestamp IS NULL THEN 'missing_timestamp'
                 WHEN {day} IS NULL THEN 'invalid_timestamp' END AS bad,
            {project} AS project,
            {_cast(fields, "details.python")} AS python,
            {_cast(fields, "details.installer.name")} AS installer,
            {_cast(fields, "details.system.name")} AS system,
            {_cast(fields, "file.version")} AS version,
            {_cast(fields, "details.ci", "BOOLEAN")} AS ci,
            count(*) AS n
        FROM read_parquet($paths)
        GROUP BY ALL"""  # noqa: S608 (fixed SQL; values are bound parameters)


def _cast(fields: dict[str, Any], name: str, sql_type: str = "VARCHAR") -> str:
    """``name`` as ``sql_type``; a column Parquet typed as null (all empty) is a NULL literal."""
    import pyarrow as pa

    if pa.types.is_null(fields[name]):
        return f"CAST(NULL AS {sql_type})"
    return f"CAST({name} AS {sql_type})"


def _flatten(schema: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    import pyarrow as pa

    for item in schema:
        name = prefix + item.name
        yield name, item.type
        if pa.types.is_struct(item.type):
            yield from _flatten(item.type, name + ".")


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
