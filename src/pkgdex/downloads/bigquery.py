"""Aggregate a day of ``bigquery-public-data.pypi.file_downloads`` inside BigQuery.

The same rules as :mod:`pkgdex.downloads.categories`, in BigQuery's dialect; only per-day
aggregates travel. The day is a bound query parameter, never spliced into the SQL. The client
is a ``google.cloud.bigquery.Client`` (credentials from the usual Google environment) or any
object with the same ``query(sql, job_config=...)`` method.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from datetime import date, timedelta
from typing import Any

from pkgdex.downloads.categories import (
    MAX_CATEGORY,
    MAX_PYTHON_MINOR,
    MIRRORS,
    NULL_CATEGORY,
    SYSTEMS,
)
from pkgdex.downloads.services import DailyRow, DayLedger
from pkgdex.downloads.sources import IngestError

TABLE = "bigquery-public-data.pypi.file_downloads"
BATCH = 50_000
# Rows of these pseudo-breakdowns carry the ledger (rows read, rejections), not downloads.
READ, REJECTED = "~read", "~rejected"


def _strings(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)  # module constants only


ITEMS = "ARRAY<STRUCT<breakdown STRING, category STRING>>"
MINOR = r"IFNULL(REGEXP_EXTRACT(python, r'^[0-9]+\.[0-9]+'), 'null')"
SYSTEM = (
    f"CASE WHEN system IS NULL THEN '{NULL_CATEGORY}' "
    f"WHEN system IN ({_strings(SYSTEMS)}) THEN system ELSE 'other' END"
)


# Whether a text holds a NUL character, which no PostgreSQL text column can (categories.py).
# RE2 reads the escape, so the query itself writes no NUL.
def _has_nul(text: str) -> str:
    return rf"REGEXP_CONTAINS({text}, r'\x00')"


def _storable(category: str) -> str:
    return f"LENGTH({category}) <= {MAX_CATEGORY} AND NOT {_has_nul(category)}"


def _when(condition: str, *items: str) -> str:
    """The (breakdown, category) pairs a row adds to when ``condition`` holds."""
    return f"IF({condition}, {ITEMS}[{', '.join(items)}], {ITEMS}[])"


# One scan of the table: every row lists the (breakdown, category) pairs it counts for, and one
# GROUP BY sums them. (A CTE referenced by several UNION branches would be evaluated, and
# billed, once per reference.) Built from constants only; the day is the bound parameter @day.
QUERY = f"""
WITH raw AS (
  SELECT
    LOWER(REGEXP_REPLACE(COALESCE(NULLIF(project, ''), NULLIF(file.project, '')),
                         r'[-_.]+', '-')) AS package,
    details.installer.name AS installer,
    details.python AS python,
    details.system.name AS system,
    IFNULL(file.version, '{NULL_CATEGORY}') AS version,
    IFNULL(details.ci, FALSE) AS ci
  FROM `{TABLE}`
  WHERE timestamp >= TIMESTAMP(@day) AND timestamp < TIMESTAMP(DATE_ADD(@day, INTERVAL 1 DAY))
),
checked AS (
  SELECT *,
    CASE
      WHEN package IS NULL OR package = '' THEN 'missing_project'
      WHEN LENGTH(package) > {MAX_CATEGORY} THEN 'package_name_too_long'
      WHEN {_has_nul("package")} THEN 'package_name_has_nul'
      WHEN python IS NOT NULL AND NOT REGEXP_CONTAINS(python, r'^[0-9]\\.[0-9]+.*$')
        THEN 'invalid_python'
    END AS reason,
    installer IS NOT NULL AND installer NOT IN ({_strings(MIRRORS)}) AS counted
  FROM raw
)
SELECT IF(reason IS NULL, package, NULL) AS package, item.breakdown, item.category,
       IF(reason IS NULL, ci, NULL) AS ci, COUNT(*) AS downloads
FROM checked, UNNEST(ARRAY_CONCAT(
  {ITEMS}[('{READ}', 'rows')],
  {_when("reason IS NOT NULL", f"('{REJECTED}', reason)")},
  {_when("reason IS NULL", "('overall', 'with_mirrors')")},
  {_when(
      "reason IS NULL AND counted",
      "('overall', 'without_mirrors')",
      f"('python_major', IFNULL(SPLIT(python, '.')[SAFE_OFFSET(0)], '{NULL_CATEGORY}'))",
      f"('system', {SYSTEM})",
  )},
  {_when(f"reason IS NULL AND counted AND LENGTH({MINOR}) <= {MAX_PYTHON_MINOR}",
         f"('python_minor', {MINOR})")},
  {_when(f"reason IS NULL AND counted AND {_storable('installer')}",
         "('installer', installer)")},
  {_when(f"reason IS NULL AND counted AND {_storable('version')}",
         "('version', version)")}
)) AS item
GROUP BY 1, 2, 3, 4
"""  # noqa: S608


def _guarded(rows: Any, day: date) -> Iterator[Any]:
    """``rows``, with a failure while paging through them reported as an IngestError."""
    try:
        yield from rows
    except Exception as exc:  # network or google.* errors while paging
        raise IngestError(f"{day}: reading BigQuery's results failed: {exc}") from exc


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def job_config(day: date) -> Any:
    from google.cloud import bigquery

    return bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter("day", "DATE", day)]
    )


def make_client() -> Any:
    """A BigQuery client with credentials from the usual Google environment."""
    from google.cloud import bigquery

    return bigquery.Client()


def daily_rows(
    client: Any, day: date, ledger: MutableMapping[date, DayLedger]
) -> Iterator[list[DailyRow]]:
    """Stream ``day``'s per-package rows in batches; fill ``ledger[day]`` as they come.

    A day BigQuery has no rows for raises :class:`IngestError` (the caller's transaction then
    keeps the day already stored).
    """
    try:
        result = client.query(QUERY, job_config=job_config(day)).result()
    except Exception as exc:  # the client raises many google.* types; report them all alike
        raise IngestError(f"BigQuery query for {day} failed: {exc}") from exc
    read, rejected = 0, dict[str, int]()
    batch: list[DailyRow] = []
    for row in _guarded(result, day):
        breakdown = row["breakdown"]
        if breakdown == READ:  # one row per package and flag: sum them
            read += int(row["downloads"])
        elif breakdown == REJECTED:
            reason = str(row["category"])
            rejected[reason] = rejected.get(reason, 0) + int(row["downloads"])
        else:
            batch.append(
                (row["package"], breakdown, day, row["category"], bool(row["ci"]),
                 int(row["downloads"]))
            )
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if read == 0:
        raise IngestError(f"BigQuery has no downloads for {day} (not published yet?)")
    ledger[day] = DayLedger(read, rejected)
    yield batch
