"""Write download statistics straight into the tables the APIs read.

API tests that are not about ingestion store the independent reference numbers of
``support.download_rows`` (or hand-made counts) as they are, so a wrong answer can only come
from the API side.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import Engine, delete, insert, text

from pkgdex.downloads.models import downloads_daily, downloads_ledger, downloads_recent

Key = tuple[str, str, dt.date, str, bool]  # package, breakdown, date, category, ci


def store_daily(engine: Engine, daily: Mapping[Key, int]) -> None:
    rows = [
        {"package": p, "breakdown": b, "date": d, "category": c, "ci": ci, "downloads": n}
        for (p, b, d, c, ci), n in daily.items()
    ]
    with engine.begin() as conn:
        if rows:
            conn.execute(insert(downloads_daily), rows)


def store_ledger(engine: Engine, days: Iterable[dt.date], *, synthetic: bool = False) -> None:
    finished = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    rows = [
        {
            "date": day,
            "source": "tests",
            "rows_read": 10,
            "rows_rejected": 1,
            "rejected_reasons": json.dumps({"invalid_python": 1}),
            "synthetic": synthetic,
            "finished_at": finished + dt.timedelta(minutes=i),
            "ingest_seconds": 1,
        }
        for i, day in enumerate(sorted(days))
    ]
    with engine.begin() as conn:
        if rows:
            conn.execute(insert(downloads_ledger), rows)


def store_recent(engine: Engine, recent: Mapping[tuple[str, bool], tuple[int, int, int]]) -> None:
    rows = [
        {"package": p, "ci": ci, "last_day": d, "last_week": w, "last_month": m}
        for (p, ci), (d, w, m) in recent.items()
    ]
    with engine.begin() as conn:
        conn.execute(delete(downloads_recent))
        if rows:
            conn.execute(insert(downloads_recent), rows)


def store_all(
    engine: Engine,
    daily: Mapping[Key, int],
    recent: Mapping[tuple[str, bool], tuple[int, int, int]],
    *,
    synthetic: bool = False,
) -> None:
    """Daily counts, their ledger days and the recent windows, as an ingest leaves them."""
    store_daily(engine, daily)
    store_ledger(engine, {key[2] for key in daily}, synthetic=synthetic)
    store_recent(engine, recent)


@contextmanager
def table_missing(engine: Engine, table: str) -> Iterator[None]:
    """The table is renamed away (so queries on it fail) and put back afterwards; the test
    databases are shared by a session, so dropping it would break later tests."""
    with engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_away"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"ALTER TABLE {table}_away RENAME TO {table}"))
