"""Bodies of the marketplace-style API (``/pypistats-api/v1/...``).

Every answer, errors included, is the envelope ``{"data", "meta": {"timestamp",
"request_id"}, "status", "message", "success"}``; shares are percentages of the range's
total with 2 decimals, largest first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection

from pkgdex.downloads import compat, extended, queries
from pkgdex.downloads.params import StatsQuery

Body = dict[str, Any]
OVERALL_DEFAULT_DAYS = 30
OVERALL_MAX_DAYS = 180
SOURCE = "pkgdex (PyPI download log, bigquery-public-data.pypi.file_downloads)"
ENDPOINTS = (
    ("/pypistats-api/v1/recent", "package", "Downloads over the latest day, week and month."),
    ("/pypistats-api/v1/overall", "package, limit (1-180, default 30)", "Daily downloads."),
    ("/pypistats-api/v1/python", "package", "Downloads per Python minor version, with shares."),
    ("/pypistats-api/v1/system", "package", "Downloads per operating system, with shares."),
    ("/pypistats-api/v1/meta", "", "This description and the data's status."),
)


class MarketError(Exception):
    """An error answered in the marketplace envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def envelope(data: Any, message: str, request_id: str, *, status: str = "ok") -> Body:
    return {
        "data": data,
        "meta": {"timestamp": dt.datetime.now(dt.UTC).isoformat(), "request_id": request_id},
        "status": status,
        "message": message,
        "success": status == "ok",
    }


def _not_found(q: StatsQuery) -> MarketError:
    return MarketError(404, "not_found", f"no download statistics for {q.package!r}")


def _common(q: StatsQuery) -> Body:
    return {"package": q.package, **compat.extended_fields(q), "source": SOURCE}


def recent(conn: Connection, q: StatsQuery) -> Body:
    found = queries.recent(conn, q.package, ci=q.ci)
    if found is None:
        raise _not_found(q)
    as_of = q.freshness.as_of.isoformat() if q.freshness.as_of else None
    return {**_common(q), **found, "as_of": as_of}


def overall(conn: Connection, q: StatsQuery) -> Body:
    """Daily downloads without mirrors, oldest first, over the ``limit`` latest days."""
    points = compat.points(conn, q, "overall", ["without_mirrors"])
    if not points:
        raise _not_found(q)
    ordered = sorted(points, key=lambda p: p[1])
    daily = [{"date": day, "downloads": n} for _, day, n in ordered]
    total = sum(n for _, _, n in ordered)
    return {**_common(q), "days": len(daily), "total_downloads": total, "daily": daily}


def shares(conn: Connection, q: StatsQuery, breakdown: str) -> Body:
    """Totals per category with their share of all downloads, largest first."""
    if q.window is None:
        raise _not_found(q)
    totals = queries.totals(conn, q.package, breakdown, q.window.start, q.window.end, ci=q.ci)
    total = sum(totals.values())
    if total == 0:
        raise _not_found(q)
    ordered = sorted(((c, n) for c, n in totals.items() if n), key=lambda i: (-i[1], i[0]))
    categories = [
        {"category": c, "downloads": n, "share_pct": round(100 * n / total, 2)}
        for c, n in ordered
    ]
    return {**_common(q), "total_downloads": total, "categories": categories}


def meta(conn: Connection) -> Body:
    """What the service is, its endpoints and the state of its data (as-of day, gaps)."""
    status = extended.status(conn)
    state = "empty" if status["as_of"] is None else "degraded" if status["gaps"] else "ok"
    return {
        "service": "pkgdex PyPI download statistics",
        "description": "Self-hosted PyPI download statistics in the pypistats.org categories.",
        "endpoints": [
            {"path": path, "parameters": params, "description": text}
            for path, params, text in ENDPOINTS
        ],
        "upstream": {
            "source": SOURCE,
            "status": state,
            "as_of": status["as_of"],
            "first_day": status["first_day"],
            "ingested_days": status["ingested_days"],
            "gaps": status["gaps"],
            "last_ingest": status["last_ingest"]["finished_at"] if status["last_ingest"] else None,
            "synthetic": status["synthetic"],
        },
    }
