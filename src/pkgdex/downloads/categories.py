"""pypistats.org's category rules, as DuckDB SQL over one normalised row per download.

The rules (from pypistats.org's BigQuery job, so our numbers agree with it):

* a row whose ``details.python`` is neither NULL nor matches ``^[0-9]\\.[0-9]+.*$`` is dropped
  from everything (we count it as rejected, reason ``invalid_python``);
* mirrors are the installers ``bandersnatch``, ``z3c.pypimirror``, ``Artifactory`` and ``devpi``;
  ``with_mirrors`` counts every remaining row; ``without_mirrors`` and every breakdown count only
  rows whose installer is non-NULL and not a mirror (SQL's ``installer NOT IN (...)`` is NULL,
  hence false, for a NULL installer);
* python_major is the text before the first ``.``; python_minor is ``^[0-9]+\\.[0-9]+`` and
  categories longer than 4 characters (``3.100``) are dropped; system is ``Windows``, ``Linux``,
  ``Darwin`` as is and ``other`` for any other non-NULL name (the empty string included);
* a NULL category is stored as the string ``"null"``, as pypistats.org does;
* categories longer than 128 characters are dropped, as pypistats.org does (installer and
  version names only can be that long); package names longer than 128 are rejected.

pkgdex also drops an installer or version category holding a NUL character and rejects a
package name holding one (``package_name_has_nul``): no PostgreSQL text column can store it,
so pypistats.org's own job would fail on such a row, and pkgdex's failed the day's ingest.

pkgdex adds the breakdowns ``installer`` (``details.installer.name``) and ``version``
(``file.version``) with the same filter as the others, and splits every count by
``details.ci`` (true -> CI; NULL or false -> not CI).

The aggregation reads a relation ``src`` with the columns ``day`` (DATE), ``bad`` (reason a
row's *input* was unusable, or NULL), ``project`` (as logged), ``python``, ``installer``,
``system``, ``version`` (VARCHAR), ``ci`` (BOOLEAN) and ``n``, the number of rows alike: the
file scans group identical rows first, so the regular expressions below run once per distinct
combination instead of once per download.
"""

from __future__ import annotations

from pkgdex.downloads.models import ALL_PACKAGES

MIRRORS = ("bandersnatch", "z3c.pypimirror", "Artifactory", "devpi")
SYSTEMS = ("Windows", "Linux", "Darwin")
PYTHON_PATTERN = r"^[0-9]\.[0-9]+.*$"
PYTHON_MINOR_PATTERN = r"^[0-9]+\.[0-9]+"
MAX_PYTHON_MINOR = 4
MAX_CATEGORY = 128
NULL_CATEGORY = "null"


def _quoted(values: tuple[str, ...]) -> str:
    # Fixed constants of this module, never user input.
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


def canonical_sql(expression: str) -> str:
    """PEP 503 canonical form of a VARCHAR expression (runs of ``-_.`` -> ``-``, lower case)."""
    return f"lower(regexp_replace({expression}, '[-_.]+', '-', 'g'))"


REJECT_REASON = f"""
    CASE
        WHEN bad IS NOT NULL THEN bad
        WHEN package IS NULL OR package = '' THEN 'missing_project'
        WHEN length(package) > {MAX_CATEGORY} THEN 'package_name_too_long'
        WHEN contains(package, chr(0)) THEN 'package_name_has_nul'
        WHEN python IS NOT NULL AND NOT regexp_matches(python, '{PYTHON_PATTERN}')
            THEN 'invalid_python'
    END"""

COUNTED = f"(installer IS NOT NULL AND installer NOT IN ({_quoted(MIRRORS)}))"

_CUBE_SQL = f"""
    named AS (SELECT *, {canonical_sql("project")} AS package FROM src),
    checked AS (SELECT *, {REJECT_REASON} AS reason FROM named),
    usable AS (
        SELECT *, reason IS NULL AND {COUNTED} AS counted FROM checked
    )
    SELECT
        day,
        reason,
        CASE WHEN reason IS NULL THEN package END AS package,
        CASE WHEN reason IS NULL THEN coalesce(ci, false) END AS ci,
        counted,
        CASE WHEN counted THEN coalesce(split_part(python, '.', 1), '{NULL_CATEGORY}') END
            AS python_major,
        CASE WHEN counted THEN
            coalesce(regexp_extract(python, '{PYTHON_MINOR_PATTERN}'), '{NULL_CATEGORY}')
        END AS python_minor,
        CASE WHEN counted THEN
            CASE
                WHEN system IS NULL THEN '{NULL_CATEGORY}'
                WHEN system IN ({_quoted(SYSTEMS)}) THEN system
                ELSE 'other'
            END
        END AS system,
        CASE WHEN counted THEN installer END AS installer,
        CASE WHEN counted THEN coalesce(version, '{NULL_CATEGORY}') END AS version,
        n
    FROM usable"""  # noqa: S608 (fixed SQL; values are bound parameters)


def cube_sql(source: str) -> str:
    """The category columns of every (already grouped) row ``source`` selects, and its ``n``.

    Rejected rows keep only their day and reason, rows not counted by the breakdowns only their
    package, day and CI flag; the breakdowns are sums over it. Not grouped again: the scans
    group by the raw values, and another hash aggregation here would cost more than it saves.
    """
    return f"WITH src AS ({source}),{_CUBE_SQL}"


def _breakdown(name: str, category: str, where: str) -> str:
    # The day as ISO text and the flag as 0/1: the form both databases take them in bulk.
    return f"""
    SELECT package, '{name}' AS breakdown, strftime(day, '%Y-%m-%d') AS day,
        {category} AS category, ci::INTEGER AS ci, sum(n) AS downloads
    FROM cube WHERE {where} GROUP BY ALL"""  # noqa: S608 (fixed SQL; values are bound parameters)


_COUNTED_FILTER = "reason IS NULL AND counted"


def _storable(category: str) -> str:
    return f"length({category}) <= {MAX_CATEGORY} AND NOT contains({category}, chr(0))"


BREAKDOWNS_SQL = " UNION ALL ".join(
    (
        _breakdown("overall", "'with_mirrors'", "reason IS NULL"),
        _breakdown("overall", "'without_mirrors'", _COUNTED_FILTER),
        _breakdown("python_major", "python_major", _COUNTED_FILTER),
        _breakdown(
            "python_minor",
            "python_minor",
            f"{_COUNTED_FILTER} AND length(python_minor) <= {MAX_PYTHON_MINOR}",
        ),
        _breakdown("system", "system", _COUNTED_FILTER),
        _breakdown("installer", "installer", f"{_COUNTED_FILTER} AND {_storable('installer')}"),
        _breakdown("version", "version", f"{_COUNTED_FILTER} AND {_storable('version')}"),
    )
)
"""Per-package daily rows ``(package, breakdown, 'YYYY-MM-DD', category, 0|1, downloads)``."""

DAILY_SQL = f"""
    WITH per_package AS MATERIALIZED ({BREAKDOWNS_SQL})
    SELECT * FROM per_package
    UNION ALL
    SELECT '{ALL_PACKAGES}', breakdown, day, category, ci, sum(downloads)
    FROM per_package GROUP BY ALL
    ORDER BY 1, 2, 3, 4, 5"""  # noqa: S608 (fixed SQL)
"""The daily rows plus ``__all__``, in primary-key order: B-tree inserts then stay local."""

DAY_STATS_SQL = """
    SELECT day, reason, sum(n) AS n FROM cube GROUP BY ALL ORDER BY day NULLS FIRST, reason"""
"""Rows read per day and reason (NULL reason: accepted; NULL day: rows without a usable date)."""
