"""Writes of the downloads domain: replace whole days, keep the ledger, recent and retention.

Every ingest, whatever its source, ends in :func:`replace_days`: one transaction deletes the
days being written, inserts their per-package rows, recomputes ``__all__`` for them, writes their
ledger rows, applies retention and rebuilds ``downloads_recent``. A failure anywhere rolls all of
it back, so readers see either the old days or the new ones.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, String, and_, case, delete, func, insert, literal, select

from pkgdex.downloads.models import (
    ALL_PACKAGES,
    downloads_daily,
    downloads_ledger,
    downloads_recent,
)

# package, breakdown, date, category, ci, downloads; the date may come as 'YYYY-MM-DD' and the
# flag as 0/1 (the file ingest hands them over in that form, ready for both databases).
DailyRow = tuple[str, str, date | str, str, bool | int, int]
DAILY_COLUMNS = ("package", "breakdown", "date", "category", "ci", "downloads")
WEEK, MONTH = 7, 30


@dataclass
class DayLedger:
    """What one day's ingest read."""

    rows_read: int
    rejected: Mapping[str, int] = field(default_factory=dict)

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclass
class WriteResult:
    days: list[date]
    rows_written: int
    days_purged: int


def replace_days(
    engine: Engine,
    days: Iterable[date],
    batches: Iterable[Sequence[DailyRow]],
    ledger: Mapping[date, DayLedger],
    *,
    source: str,
    synthetic: bool = False,
    started: float | None = None,
    retention_days: int | None = None,
    includes_all: bool = False,
) -> WriteResult:
    """Replace ``days`` with ``batches`` of per-package rows and their ``ledger``, atomically.

    ``ledger`` is read after ``batches`` is consumed, so a streaming source may fill it as it
    goes; every row of ``batches`` must fall on one of ``days``. ``started`` (a
    ``time.monotonic()`` value) gives the ledger's ingest duration. ``includes_all`` says the
    batches already carry the ``__all__`` rows; otherwise they are summed here.
    """
    days = sorted(days)
    with engine.begin() as conn:
        _delete_days(conn, days)
        written = 0
        for batch in batches:
            _insert_daily(conn, batch)
            written += len(batch)
        if not includes_all:
            _insert_all_packages(conn, days)
        seconds = None if started is None else time.monotonic() - started
        _write_ledger(conn, ledger, source, synthetic, seconds)
        purged = _apply_retention(conn, retention_days)
        refresh_recent(conn)
    return WriteResult(days, written, purged)


def _delete_days(conn: Connection, days: list[date]) -> None:
    for day in days:
        conn.execute(delete(downloads_daily).where(downloads_daily.c.date == day))
        conn.execute(delete(downloads_ledger).where(downloads_ledger.c.date == day))


def _insert_daily(conn: Connection, rows: Sequence[DailyRow]) -> None:
    """Bulk insert with the driver: COPY on PostgreSQL, executemany on SQLite.

    SQLAlchemy's per-row parameter processing costs more than the insert itself here, so the
    rows go to the driver in the form SQLAlchemy would store them (SQLite: ISO dates, 0/1).
    """
    if not rows:
        return
    driver = conn.connection.dbapi_connection
    assert driver is not None
    columns = ", ".join(DAILY_COLUMNS)
    if conn.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(  # type: ignore[attr-defined]
            f"COPY {downloads_daily.name} ({columns}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        return
    if not isinstance(rows[0][2], str):
        rows = [(p, b, _iso(d), c, int(ci), n) for p, b, d, c, ci, n in rows]
    cursor = driver.cursor()
    try:
        cursor.executemany(
            f"INSERT INTO {downloads_daily.name} ({columns}) VALUES (?, ?, ?, ?, ?, ?)",  # noqa: S608 (constant names)
            rows,
        )
    finally:
        cursor.close()


def _iso(day: date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def _insert_all_packages(conn: Connection, days: list[date]) -> None:
    """``__all__`` = the sum over packages, for every day/breakdown/category/ci written."""
    t = downloads_daily.c
    for day in days:
        totals = (
            select(
                literal(ALL_PACKAGES, String),
                t.breakdown,
                t.date,
                t.category,
                t.ci,
                func.sum(t.downloads),
            )
            .where(t.date == day, t.package != ALL_PACKAGES)
            .group_by(t.breakdown, t.date, t.category, t.ci)
        )
        conn.execute(insert(downloads_daily).from_select(list(DAILY_COLUMNS), totals))


def _write_ledger(
    conn: Connection,
    ledger: Mapping[date, DayLedger],
    source: str,
    synthetic: bool,
    seconds: float | None,
) -> None:
    finished = datetime.now(UTC)
    rows = [
        {
            "date": day,
            "source": source,
            "rows_read": entry.rows_read,
            "rows_rejected": entry.rows_rejected,
            "rejected_reasons": json.dumps(dict(sorted(entry.rejected.items()))),
            "synthetic": synthetic,
            "finished_at": finished,
            "ingest_seconds": None if seconds is None else round(seconds),
        }
        for day, entry in sorted(ledger.items())
    ]
    if rows:
        conn.execute(insert(downloads_ledger), rows)


def latest_day(conn: Connection) -> date | None:
    day: date | None = conn.execute(select(func.max(downloads_daily.c.date))).scalar()
    return day


def _apply_retention(conn: Connection, retention_days: int | None) -> int:
    """Delete the days older than the ``retention_days`` ending on the latest day."""
    latest = latest_day(conn)
    if retention_days is None or latest is None:
        return 0
    cutoff = latest - timedelta(days=retention_days - 1)
    conn.execute(delete(downloads_daily).where(downloads_daily.c.date < cutoff))
    purged = conn.execute(delete(downloads_ledger).where(downloads_ledger.c.date < cutoff))
    return purged.rowcount or 0


def refresh_recent(conn: Connection) -> None:
    """Rebuild ``downloads_recent``: without_mirrors over the latest day, 7 and 30 days.

    One row per (package, ci) with an ``overall`` row in the 30 days ending on the latest
    ingested day; the windows end on that day whatever today's date is.
    """
    conn.execute(delete(downloads_recent))
    latest = latest_day(conn)
    if latest is None:
        return
    t = downloads_daily.c
    counted = t.category == "without_mirrors"

    def window(days: int) -> Any:
        first = latest - timedelta(days=days - 1)
        return func.coalesce(
            func.sum(case((and_(counted, t.date >= first), t.downloads), else_=0)), 0
        )

    recent = (
        select(t.package, t.ci, window(1), window(WEEK), window(MONTH))
        .where(t.breakdown == "overall", t.date >= latest - timedelta(days=MONTH - 1))
        .group_by(t.package, t.ci)
    )
    conn.execute(
        insert(downloads_recent).from_select(
            ["package", "ci", "last_day", "last_week", "last_month"], recent
        )
    )


def ledger_entries(conn: Connection) -> list[dict[str, Any]]:
    """Every ledger row, oldest first, with ``rejected_reasons`` decoded."""
    rows = conn.execute(select(downloads_ledger).order_by(downloads_ledger.c.date)).mappings()
    return [dict(row, rejected_reasons=json.loads(row["rejected_reasons"])) for row in rows]


def gaps(days: Iterable[date]) -> list[tuple[date, date]]:
    """Inclusive ranges of missing days between the first and the last of ``days``."""
    ordered = sorted(set(days))
    missing = []
    for before, after in itertools.pairwise(ordered):
        if (after - before).days > 1:
            missing.append((before + timedelta(days=1), after - timedelta(days=1)))
    return missing
