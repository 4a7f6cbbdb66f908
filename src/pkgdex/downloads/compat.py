"""Bodies of the pypistats.org-compatible endpoints and pypistats.dev's additions.

Shapes follow the originals exactly: top-level ``data``, ``package``, ``type``; rows
``{category, date, downloads}`` sorted by category then date (code-point order on every
backend); unknown packages 404 on ``recent``/``overall`` and answer ``"data": []`` on the
breakdowns. Unlike the original, a category whose rows are all zero is never sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from pkgdex.downloads import queries
from pkgdex.downloads.params import StatsQuery, api_error
from pkgdex.errors import ApiError

Body = dict[str, Any]
RECENT_PERIODS = ("day", "week", "month")
SUMMARY_BREAKDOWNS = ("python_major", "python_minor", "system", "installer")


def not_found(q: StatsQuery) -> ApiError:
    return api_error(404, "not_found", f"no download statistics for {q.package!r}", q.freshness)


def category_rows(points: Sequence[queries.Point]) -> list[dict[str, Any]]:
    """Rows (``points`` come sorted by category then date) without all-zero categories."""
    per_category: dict[str, int] = defaultdict(int)
    for category, _, downloads in points:
        per_category[category] += downloads
    return [
        {"category": category, "date": day, "downloads": downloads}
        for category, day, downloads in points
        if per_category[category] > 0
    ]


def points(
    conn: Connection, q: StatsQuery, breakdown: str, categories: list[str] | None = None
) -> Sequence[queries.Point]:
    if q.window is None:
        return []
    return queries.series(
        conn, q.package, breakdown, q.window.start, q.window.end, categories=categories, ci=q.ci
    )


def recent_downloads(conn: Connection, q: StatsQuery, period: str | None) -> Body:
    data = queries.recent(conn, q.package, ci=q.ci)
    if data is None:
        raise not_found(q)
    if period is not None:
        key = queries.RECENT_COLUMNS[period]
        data = {key: data[key]}
    return {"data": data, "package": q.package, "type": "recent_downloads"}


def overall_downloads(conn: Connection, q: StatsQuery, mirrors: bool | None) -> Body:
    categories = None if mirrors is None else ["with_mirrors" if mirrors else "without_mirrors"]
    rows = category_rows(points(conn, q, "overall", categories))
    if not rows:
        raise not_found(q)
    return {"data": rows, "package": q.package, "type": "overall_downloads"}


def breakdown_downloads(
    conn: Connection, q: StatsQuery, breakdown: str, category: str | None
) -> Body:
    """python_major, python_minor, system, installer or version: 200 with [] when unknown."""
    categories = None if category is None else [category]
    rows = category_rows(points(conn, q, breakdown, categories))
    body: Body = {"data": rows, "package": q.package, "type": f"{breakdown}_downloads"}
    if breakdown in ("installer", "version"):
        body.update(extended_fields(q))
    return body


def extended_fields(q: StatsQuery) -> Body:
    """npm-style range echo and the synthetic label of pkgdex's own responses."""
    return {
        "start": q.window.start.isoformat() if q.window else None,
        "end": q.window.end.isoformat() if q.window else None,
        "synthetic": q.freshness.synthetic,
    }


def summary(conn: Connection, q: StatsQuery) -> Body:
    """Totals per breakdown over the window; ``overall`` counts every download once."""
    if q.window is None:
        raise not_found(q)
    breakdowns = ("overall", *SUMMARY_BREAKDOWNS)
    found = queries.totals_by_breakdown(
        conn, q.package, breakdowns, q.window.start, q.window.end, ci=q.ci
    )
    overall = found.get("overall", {})
    if not any(overall.values()):
        raise not_found(q)
    totals: Body = {
        # with_mirrors already contains without_mirrors: adding both would count twice.
        "overall": overall.get("with_mirrors", 0),
        "overall_without_mirrors": overall.get("without_mirrors", 0),
    }
    for breakdown in SUMMARY_BREAKDOWNS:
        counts = found.get(breakdown, {})
        totals[breakdown] = {k: v for k, v in sorted(counts.items()) if v > 0}
    return {"package": q.package, "type": "summary", "totals": totals, **extended_fields(q)}
