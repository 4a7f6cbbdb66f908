"""Setting aside the lines of an NDJSON file that DuckDB refuses, with their line numbers.

Only files DuckDB cannot read as a whole come here: the usable lines are copied to a clean
file for DuckDB, the others are counted by (day, reason) and described for the report.
"""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path
from typing import IO

import orjson

from pkgdex.downloads.sources import IngestError

MAX_PROBLEMS = 20


def open_lines(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def set_bad_lines_aside(
    source: Path, clean: Path, problems: list[str]
) -> dict[tuple[date | None, str], int]:
    """Copy the usable lines of ``source`` to ``clean``; count the others by (day, reason)."""
    rejected: dict[tuple[date | None, str], int] = {}
    try:
        with open_lines(source) as lines, clean.open("wb") as out:
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
