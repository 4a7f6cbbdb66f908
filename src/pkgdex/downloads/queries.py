"""Read SQL of the download-statistics APIs.

Every series is read from ``downloads_daily`` through its primary key (package, breakdown,
date, ...), so a package's 180 days are one index range whatever the table's size. The CI flag
is part of the key: "all downloads" sums both flags, ``ci=False`` keeps the non-CI rows only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    String,
    case,
    cast,
    false,
    func,
    select,
    type_coerce,
)

from pkgdex.downloads.models import (
    ALL_PACKAGES,
    downloads_daily,
    downloads_ledger,
    downloads_recent,
)

RECENT_COLUMNS = {"day": "last_day", "week": "last_week", "month": "last_month"}


@dataclass(frozen=True)
class Freshness:
    """How current the statistics are: the latest ingested day and whether any is synthetic."""

    as_of: dt.date | None
    synthetic: bool


# One day of one category: (category, ISO day "YYYY-MM-DD", downloads). Plain rows, not
# objects: a busy package's 180 days are thousands of them per answer.
Point = tuple[str, str, int]


@dataclass(frozen=True)
class LedgerDay:
    date: dt.date
    source: str
    rows_read: int
    rows_rejected: int
    rejected_reasons: str
    synthetic: bool
    finished_at: dt.datetime
    ingest_seconds: int | None


def freshness(conn: Connection) -> Freshness:
    """The latest ingested day (from the ledger, else from the data itself)."""
    synthetic = func.max(case((downloads_ledger.c.synthetic, 1), else_=0))
    as_of, any_synthetic = conn.execute(
        select(func.max(downloads_ledger.c.date), synthetic)
    ).one()
    if as_of is None:
        as_of = conn.execute(select(func.max(downloads_daily.c.date))).scalar()
    return Freshness(as_of=as_of, synthetic=bool(any_synthetic))


def _total(column: ColumnElement[int]) -> ColumnElement[int]:
    # PostgreSQL's sum(bigint) is numeric; cast back so both backends return int.
    return cast(func.sum(column), BigInteger)


def series(
    conn: Connection,
    package: str,
    breakdown: str,
    start: dt.date,
    end: dt.date,
    *,
    categories: Iterable[str] | None = None,
    ci: bool = True,
) -> Sequence[Point]:
    """Daily downloads per category, CI flags summed (or CI excluded), in [start, end],
    sorted by category (code-point order on every backend) then date."""
    t = downloads_daily.c
    category = _binary(conn, t.category)
    stmt = (
        select(t.category, _iso_day(conn, t.date), _total(t.downloads))
        .where(t.package == package, t.breakdown == breakdown, t.date.between(start, end))
        .group_by(t.category, t.date)
        .order_by(category, t.date)
    )
    if categories is not None:
        stmt = stmt.where(func.lower(t.category).in_([c.lower() for c in categories]))
    if not ci:
        stmt = stmt.where(t.ci == false())
    # The driver's rows as they are: every column already has its final Python type (text,
    # text, int), and skipping SQLAlchemy's per-row objects saves a third of a big answer.
    result = conn.execute(stmt)
    try:
        rows: Sequence[Point] = result.cursor.fetchall()
    finally:
        result.close()
    return rows


def _binary(conn: Connection, column: ColumnElement[str]) -> ColumnElement[str]:
    # PostgreSQL sorts text by the database's locale ("null" before "Windows"); the original's
    # answers and SQLite sort by code point.
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def _iso_day(conn: Connection, column: ColumnElement[dt.date]) -> ColumnElement[str]:
    # Days travel as text: SQLite already stores ISO text, and formatting in SQL spares a
    # date object per row in Python.
    if conn.dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return type_coerce(column, String)


def totals(
    conn: Connection,
    package: str,
    breakdown: str,
    start: dt.date,
    end: dt.date,
    *,
    ci: bool = True,
) -> dict[str, int]:
    """Downloads per category summed over [start, end]."""
    return totals_by_breakdown(conn, package, [breakdown], start, end, ci=ci).get(breakdown, {})


def totals_by_breakdown(
    conn: Connection,
    package: str,
    breakdowns: Sequence[str],
    start: dt.date,
    end: dt.date,
    *,
    ci: bool = True,
) -> dict[str, dict[str, int]]:
    """Downloads per breakdown and category summed over [start, end], in one query."""
    t = downloads_daily.c
    stmt = (
        select(t.breakdown, t.category, _total(t.downloads))
        .where(
            t.package == package, t.breakdown.in_(breakdowns), t.date.between(start, end)
        )
        .group_by(t.breakdown, t.category)
    )
    if not ci:
        stmt = stmt.where(t.ci == false())
    found: dict[str, dict[str, int]] = {}
    for breakdown, category, n in conn.execute(stmt):
        found.setdefault(breakdown, {})[category] = int(n)
    return found


def recent(conn: Connection, package: str, *, ci: bool = True) -> dict[str, int] | None:
    """``last_day``/``last_week``/``last_month`` of a package, or None when it is unknown."""
    t = downloads_recent.c
    stmt = select(
        func.count(), _total(t.last_day), _total(t.last_week), _total(t.last_month)
    ).where(t.package == package)
    if not ci:
        stmt = stmt.where(t.ci == false())
    found, day, week, month = conn.execute(stmt).one()
    if not found:
        return None
    return {"last_day": int(day), "last_week": int(week), "last_month": int(month)}


def top(conn: Connection, period: str, limit: int, *, ci: bool = True) -> list[tuple[str, int]]:
    """The most downloaded packages over the recent ``period`` (day, week or month)."""
    column = downloads_recent.c[RECENT_COLUMNS[period]]
    downloads = _total(column).label("downloads")
    stmt = (
        select(downloads_recent.c.package, downloads)
        .where(downloads_recent.c.package != ALL_PACKAGES)
        .group_by(downloads_recent.c.package)
        .order_by(downloads.desc(), downloads_recent.c.package)
        .limit(limit)
    )
    if not ci:
        stmt = stmt.where(downloads_recent.c.ci == false())
    return [(package, int(n)) for package, n in conn.execute(stmt) if n]


def ledger(conn: Connection) -> list[LedgerDay]:
    """Every ingested day, oldest first."""
    stmt = select(downloads_ledger).order_by(downloads_ledger.c.date)
    return [LedgerDay(**row._asdict()) for row in conn.execute(stmt)]


def gaps(days: Sequence[dt.date]) -> list[dt.date]:
    """Days missing between the first and the last ingested day (``days`` sorted)."""
    present = set(days)
    if not days:
        return []
    span = (days[-1] - days[0]).days
    every = (days[0] + dt.timedelta(days=i) for i in range(span + 1))
    return [day for day in every if day not in present]
