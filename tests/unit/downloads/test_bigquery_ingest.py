"""``ingest-bigquery`` against a fake BigQuery client that checks the query it is sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from google.cloud import bigquery as gbq
from sqlalchemy import Engine, select

from pkgdex import db
from pkgdex.downloads import bigquery, jobs
from pkgdex.downloads.models import downloads_daily, downloads_ledger
from support.download_rows import (
    ALL,
    Expected,
    expected_stats,
    generate_rows,
    make_row,
    write_parquet,
)

START = date(2026, 9, 1)


class FakeJob:
    def __init__(self, rows: list[dict[str, Any]], fail_after: int | None) -> None:
        self.rows, self.fail_after = rows, fail_after

    def result(self) -> Iterator[dict[str, Any]]:
        for number, row in enumerate(self.rows):
            if self.fail_after is not None and number >= self.fail_after:
                raise ConnectionError("connection reset while reading results")
            yield row


class FakeBigQuery:
    """Answers like BigQuery would for the aggregation query, from the reference numbers."""

    def __init__(self, expected: Expected, fail_after: int | None = None) -> None:
        self.expected, self.fail_after = expected, fail_after
        self.calls: list[tuple[str, Any]] = []

    def query(self, sql: str, job_config: Any = None) -> FakeJob:
        self.calls.append((sql, job_config))
        (parameter,) = job_config.query_parameters
        assert isinstance(parameter, gbq.ScalarQueryParameter)
        assert (parameter.name, parameter.type_) == ("day", "DATE")
        return FakeJob(self.rows_for(parameter.value), self.fail_after)

    def rows_for(self, day: date) -> list[dict[str, Any]]:
        read = self.expected.rows_read.get(day, 0)
        if not read:
            return []
        # BigQuery answers the rows read per package and flag; split it the same way
        rows = [
            {"package": "a", "breakdown": "~read", "category": "rows", "ci": False,
             "downloads": read - 1},
            {"package": None, "breakdown": "~read", "category": "rows", "ci": None,
             "downloads": 1},
        ]
        for reason, count in self.expected.rejected.get(day, {}).items():
            rows.append({"package": None, "breakdown": "~rejected", "category": reason,
                         "ci": None, "downloads": count})
        for (package, breakdown, when, category, ci), count in self.expected.daily.items():
            if when == day and package != ALL:
                rows.append({"package": package, "breakdown": breakdown, "category": category,
                             "ci": ci, "downloads": count})
        return rows


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = db.make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def expected() -> Expected:
    return expected_stats(generate_rows(days=4, rows_per_day=120))


def stored(engine: Engine) -> dict[tuple[Any, ...], int]:
    with engine.connect() as conn:
        return {tuple(row[:5]): row[5] for row in conn.execute(select(downloads_daily))}


def test_query_is_parameterised_and_aggregates_in_bigquery(expected: Expected) -> None:
    client = FakeBigQuery(expected)
    list(bigquery.daily_rows(client, START, {}))
    ((sql, config),) = client.calls
    assert "`bigquery-public-data.pypi.file_downloads`" in sql
    assert "@day" in sql and "2026" not in sql
    assert config.query_parameters[0].value == START
    assert sql.count("`bigquery-public-data.pypi.file_downloads`") == 1  # a single scan
    assert "UNNEST(ARRAY_CONCAT(" in sql and "GROUP BY 1, 2, 3, 4" in sql
    for mirror in ("'bandersnatch'", "'z3c.pypimirror'", "'Artifactory'", "'devpi'"):
        assert mirror in sql
    assert r"r'^[0-9]\.[0-9]+.*$'" in sql


def test_ingest_days_stores_the_reference(engine: Engine, expected: Expected) -> None:
    client = FakeBigQuery(expected)
    reports = jobs.ingest_bigquery(engine, client, START, date(2026, 9, 4))
    assert [r.days for r in reports] == [[d] for d in expected.days]
    assert stored(engine) == expected.daily
    with engine.connect() as conn:
        ledger = conn.execute(select(downloads_ledger).order_by("date")).mappings().all()
    assert [row["source"] for row in ledger] == ["bigquery"] * 4
    assert ledger[1]["rows_read"] == expected.rows_read[date(2026, 9, 2)]
    assert ledger[1]["rows_rejected"] == sum(expected.rejected[date(2026, 9, 2)].values())


def test_a_day_bigquery_has_not_published_keeps_the_stored_day(
    engine: Engine, expected: Expected
) -> None:
    jobs.ingest_bigquery(engine, FakeBigQuery(expected), START, START)
    before = stored(engine)
    empty = FakeBigQuery(expected_stats([]))
    with pytest.raises(jobs.IngestError, match="no downloads for 2026-09-01"):
        jobs.ingest_bigquery(engine, empty, START, START)
    assert stored(engine) == before


def test_a_failure_while_streaming_rolls_the_day_back(
    engine: Engine, expected: Expected
) -> None:
    jobs.ingest_bigquery(engine, FakeBigQuery(expected), START, START)
    before = stored(engine)
    flaky = FakeBigQuery(expected, fail_after=5)
    with pytest.raises(jobs.IngestError, match=r"reading BigQuery's results.*reset"):
        jobs.ingest_bigquery(engine, flaky, START, START)
    assert stored(engine) == before


def test_a_failing_query_is_reported(engine: Engine) -> None:
    class Refusing:
        def query(self, sql: str, job_config: Any = None) -> Any:
            raise PermissionError("403 Access Denied: BigQuery BigQuery: Permission denied")

    with pytest.raises(jobs.IngestError, match=r"query for 2026-09-01 failed: 403"):
        jobs.ingest_bigquery(engine, Refusing(), START, START)


def test_until_before_date_is_refused(engine: Engine, expected: Expected) -> None:
    with pytest.raises(jobs.IngestError, match="before"):
        jobs.ingest_bigquery(engine, FakeBigQuery(expected), START, date(2026, 8, 1))


class TranspilingBigQuery:
    """Runs the BigQuery SQL itself: translated to DuckDB by sqlglot, over generated rows.

    This checks the query's meaning (categories, mirrors, rejections) against the independent
    reference, as far as a faithful translation of BigQuery's dialect allows.
    """

    def __init__(self, parquet: Path) -> None:
        self.connection = duckdb.connect()
        self.connection.execute("SET TimeZone = 'UTC'")
        self.connection.read_parquet(str(parquet)).create_view("file_downloads")

    def query(self, sql: str, job_config: Any = None) -> FakeJob:
        local = sql.replace(f"`{bigquery.TABLE}`", "file_downloads")
        translated = sqlglot.transpile(local, read="bigquery", write="duckdb")[0]
        (parameter,) = job_config.query_parameters
        cursor = self.connection.execute(translated, {parameter.name: parameter.value})
        names = [column[0] for column in cursor.description]
        return FakeJob([dict(zip(names, row, strict=True)) for row in cursor.fetchall()], None)


def test_the_bigquery_sql_itself_agrees_with_the_reference(
    engine: Engine, tmp_path: Path
) -> None:
    rows = generate_rows(days=3, rows_per_day=150)
    # A NUL, which no PostgreSQL text column holds: a category dropped, a package rejected.
    rows += [make_row("p\x00kg", START), make_row("pkg", START, installer="pi\x00p")]
    rows += [make_row("pkg", START, version="1.0\x00")]
    expected = expected_stats(rows)
    client = TranspilingBigQuery(write_parquet(rows, tmp_path / "log.parquet"))
    jobs.ingest_bigquery(engine, client, START, date(2026, 9, 3))
    assert stored(engine) == expected.daily
    with engine.connect() as conn:
        first = conn.execute(select(downloads_ledger).order_by("date")).mappings().first()
    assert first is not None
    assert first["rows_read"] == expected.rows_read[START]  # undated rows never reach a day
    assert json.loads(first["rejected_reasons"]) == dict(expected.rejected[START])
