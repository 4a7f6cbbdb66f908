"""Long-running work of the downloads domain, shared by the CLI and the server."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from pkgdex.downloads import bigquery, demo, ingest, services
from pkgdex.downloads.services import DayLedger
from pkgdex.downloads.sources import IngestError

MAX_SOURCE_NAMES = 10

__all__ = ["IngestError", "IngestReport", "ingest_bigquery", "ingest_files", "load_demo"]


@dataclass
class IngestReport:
    """What an ingest did, for the CLI and the status endpoint."""

    days: list[date]
    rows_read: int
    rejected: dict[str, int]
    rows_written: int
    seconds: float
    skipped_days: list[date] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


def ingest_files(
    engine: Engine,
    paths: list[str],
    *,
    retention_days: int | None = None,
    on_files: Callable[[list[Path]], None] | None = None,
    on_progress: Callable[[float], None] | None = None,
    memory_limit: str = "1GB",
) -> IngestReport:
    """Aggregate NDJSON/Parquet exports and replace the days they contain, atomically.

    A day is replaced as a whole by what these files hold for it, so give all the files of a
    day in one run (an export split over many files is one run with many paths).

    Rows without a usable date (malformed lines, missing timestamps) are charged to the ledger
    of the earliest day written, so the ledger's totals equal the lines read. Days whose every
    row was rejected are not written (they would wipe good data) and are reported instead.
    """
    started = time.monotonic()
    files = ingest.expand_inputs(paths)
    if on_files:
        on_files(files)
    scratch = ingest.scratch_directory()
    aggregation: ingest.Aggregation | None = None
    try:
        aggregation = ingest.aggregate_files(
            files, scratch, on_progress=on_progress, memory_limit=memory_limit
        )
        ledger = _ledger(aggregation)
        if not ledger:
            problems = "; ".join(aggregation.problems[:3])
            raise IngestError(
                f"no usable rows in {_describe(files)}" + (f" ({problems})" if problems else "")
            )
        result = services.replace_days(
            engine,
            ledger,
            aggregation.daily_rows(),
            ledger,
            source=_describe(files),
            started=started,
            retention_days=retention_days,
            includes_all=True,
        )
    finally:
        if aggregation is not None:
            aggregation.connection.close()
        ingest.remove_scratch(scratch)
    rejected: dict[str, int] = {}
    for reasons in aggregation.rejected.values():
        for reason, count in reasons.items():
            rejected[reason] = rejected.get(reason, 0) + count
    return IngestReport(
        days=result.days,
        rows_read=sum(aggregation.rows_read.values()),
        rejected=rejected,
        rows_written=result.rows_written,
        seconds=time.monotonic() - started,
        skipped_days=sorted(set(filter(None, aggregation.rows_read)) - set(result.days)),
        problems=aggregation.problems,
    )


def _ledger(aggregation: ingest.Aggregation) -> dict[date, DayLedger]:
    days = aggregation.days
    ledger: dict[date, DayLedger] = {}
    for day in days:
        ledger[day] = DayLedger(
            aggregation.rows_read[day], dict(aggregation.rejected.get(day, {}))
        )
    undated = aggregation.rows_read.get(None, 0)
    if days and undated:
        first = ledger[days[0]]
        reasons = dict(first.rejected)
        for reason, count in aggregation.rejected.get(None, {}).items():
            reasons[reason] = reasons.get(reason, 0) + count
        ledger[days[0]] = DayLedger(first.rows_read + undated, reasons)
    return ledger


def _describe(files: list[Path]) -> str:
    names = [str(path) for path in files[:MAX_SOURCE_NAMES]]
    more = len(files) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def ingest_bigquery(
    engine: Engine,
    client: Any,
    first: date,
    last: date,
    *,
    retention_days: int | None = None,
    on_day: Callable[[date], None] | None = None,
) -> list[IngestReport]:
    """Aggregate each day from ``first`` to ``last`` inside BigQuery and replace it here."""
    if last < first:
        raise IngestError(f"--until {last} is before --date {first}")
    reports = []
    for day in bigquery.days_between(first, last):
        started = time.monotonic()
        ledger: dict[date, DayLedger] = {}
        batches = bigquery.daily_rows(client, day, ledger)
        result = services.replace_days(
            engine,
            [day],
            batches,
            ledger,
            source="bigquery",
            started=started,
            retention_days=retention_days,
        )
        entry = ledger.get(day, DayLedger(0))
        reports.append(
            IngestReport(
                days=result.days,
                rows_read=entry.rows_read,
                rejected=dict(entry.rejected),
                rows_written=result.rows_written,
                seconds=time.monotonic() - started,
            )
        )
        if on_day:
            on_day(day)
    return reports


def load_demo(engine: Engine) -> None:
    """Write the deterministic synthetic download history of the demo packages."""
    demo.load(engine)
