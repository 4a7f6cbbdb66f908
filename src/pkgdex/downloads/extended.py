"""Bodies of pkgdex's own statistics endpoints: most downloaded packages and data status."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import Connection

from pkgdex.downloads import queries

Body = dict[str, Any]
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30}


def top_packages(
    conn: Connection, fresh: queries.Freshness, period: str, limit: int, *, ci: bool
) -> Body:
    """Most downloaded packages (without mirrors) over the day/week/month ending on as-of."""
    rows = queries.top(conn, period, limit, ci=ci)
    start = end = None
    if fresh.as_of is not None:
        end = fresh.as_of.isoformat()
        start = (fresh.as_of - dt.timedelta(days=PERIOD_DAYS[period] - 1)).isoformat()
    data = [
        {"rank": rank, "package": package, "downloads": downloads}
        for rank, (package, downloads) in enumerate(rows, start=1)
    ]
    return {
        "type": "top_downloads",
        "period": period,
        "ci": ci,
        "start": start,
        "end": end,
        "synthetic": fresh.synthetic,
        "data": data,
    }


def status(conn: Connection) -> Body:
    """Which days are ingested, which are missing, and when the last ingest finished."""
    days = queries.ledger(conn)
    dates = [d.date for d in days]
    last = max(days, key=lambda d: d.finished_at) if days else None
    return {
        "as_of": dates[-1].isoformat() if dates else None,
        "first_day": dates[0].isoformat() if dates else None,
        "ingested_days": len(days),
        "gaps": [d.isoformat() for d in queries.gaps(dates)],
        "synthetic": any(d.synthetic for d in days),
        "last_ingest": _ledger_row(last) if last else None,
        "days": [_ledger_row(d) for d in days],
    }


def _ledger_row(day: queries.LedgerDay) -> Body:
    return {
        "date": day.date.isoformat(),
        "source": day.source,
        "rows_read": day.rows_read,
        "rows_rejected": day.rows_rejected,
        "rejected_reasons": _reasons(day.rejected_reasons),
        "synthetic": day.synthetic,
        "finished_at": day.finished_at.isoformat(),
        "ingest_seconds": day.ingest_seconds,
    }


def _reasons(text: str) -> dict[str, int]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable": 0}
    return value if isinstance(value, dict) else {}
