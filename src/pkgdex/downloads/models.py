"""Tables of the downloads domain.

``downloads_daily`` holds one row per (package, breakdown, day, category, CI flag): the
pypistats.org tables (overall, python_major, python_minor, system) plus pkgdex's extra
breakdowns (installer, version), all in one shape so every series can be filtered by CI.
The pseudo-package ``__all__`` holds the sum over all packages. ``downloads_recent`` is
materialised at the end of each ingest for /recent and /api/top. ``downloads_ledger`` records
every ingested day so gaps are visible.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from pkgdex.db import metadata

BREAKDOWNS = ("overall", "python_major", "python_minor", "system", "installer", "version")
ALL_PACKAGES = "__all__"

downloads_daily = Table(
    "downloads_daily",
    metadata,
    Column("package", String(200), primary_key=True),  # PEP 503 canonical name
    Column("breakdown", String(16), primary_key=True),  # one of BREAKDOWNS
    Column("date", Date, primary_key=True),
    Column("category", String(128), primary_key=True),  # "null" for NULL, as pypistats.org
    Column("ci", Boolean, primary_key=True),  # details.ci was true
    Column("downloads", BigInteger, nullable=False),
)
Index("ix_downloads_daily_date", downloads_daily.c.date)

downloads_recent = Table(
    "downloads_recent",
    metadata,
    Column("package", String(200), primary_key=True),
    Column("ci", Boolean, primary_key=True),
    Column("last_day", BigInteger, nullable=False),
    Column("last_week", BigInteger, nullable=False),
    Column("last_month", BigInteger, nullable=False),
)

downloads_ledger = Table(
    "downloads_ledger",
    metadata,
    Column("date", Date, primary_key=True),
    Column("source", Text, nullable=False),  # file paths or "bigquery"
    Column("rows_read", BigInteger, nullable=False),
    Column("rows_rejected", BigInteger, nullable=False),
    Column("rejected_reasons", Text, nullable=False),  # JSON object: reason -> count
    Column("synthetic", Boolean, nullable=False),  # demo data, labelled wherever shown
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("ingest_seconds", Integer, nullable=True),
)
