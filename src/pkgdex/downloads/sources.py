"""The SQL that reads each input format into the row shape :mod:`categories` expects.

Both scans group identical raw rows (``n`` counts them) and report why a row's input is
unusable in ``bad``: ``missing_timestamp``, ``invalid_timestamp`` or ``wrong_type``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["JSON_COLUMNS", "JSON_SOURCE", "IngestError", "parquet_source"]


class IngestError(Exception):
    """An input that cannot be ingested; the message names the file and the problem."""


# JSON leaves are read as JSON so a wrong type is seen instead of silently cast.
JSON_COLUMNS = {
    "timestamp": "JSON",
    "project": "JSON",
    "file": "STRUCT(project JSON, version JSON)",
    "details": "STRUCT(installer STRUCT(name JSON), python JSON, system STRUCT(name JSON), "
    "ci JSON)",
}
_STRINGS = ("project", "file_project", "python", "installer", "system", "version")
_TEXT_DAY = "try_cast(substr({0}, 1, 10) AS DATE)"

# Pass 1 groups identical rows (the timestamp cut to its day, still as JSON text, so a
# non-string is recognisable by its missing quote); pass 2 checks and decodes the groups.
JSON_SOURCE = f"""
    WITH scan AS (
        SELECT
            substr(timestamp::VARCHAR, 1, 11) AS stamp, project, file.project AS file_project,
            details.python AS python, details.installer.name AS installer,
            details.system.name AS system, file.version AS version, details.ci AS ci,
            count(*) AS n
        FROM read_json($paths, format = 'newline_delimited', columns = $columns)
        GROUP BY ALL
    )
    SELECT
        CASE WHEN stamp LIKE '"%' THEN {_TEXT_DAY.format("substr(stamp, 2)")} END AS day,
        CASE
            WHEN stamp IS NULL OR stamp = 'null' THEN 'missing_timestamp'
            WHEN stamp NOT LIKE '"%' OR {_TEXT_DAY.format("substr(stamp, 2)")} IS NULL
                THEN 'invalid_timestamp'
            WHEN NOT ({" AND ".join(
                f"coalesce(json_type({name}), 'NULL') IN ('VARCHAR', 'NULL')" for name in _STRINGS
            )} AND coalesce(json_type(ci), 'NULL') IN ('BOOLEAN', 'NULL'))
                THEN 'wrong_type'
        END AS bad,
        coalesce(nullif(project->>'$', ''), nullif(file_project->>'$', '')) AS project,
        python->>'$' AS python,
        installer->>'$' AS installer,
        system->>'$' AS system,
        version->>'$' AS version,
        ci::VARCHAR = 'true' AS ci,
        n
    FROM scan"""  # noqa: S608 (fixed SQL; values are bound parameters)


def parquet_source(path: Path) -> str:
    """SQL reading ``path`` into the ``src`` shape, after checking it has the fields we need."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as exc:
        raise IngestError(f"{path}: not a readable Parquet file ({exc})") from exc
    fields = dict(_flatten(schema))
    needed = ["timestamp", "details.python", "details.installer.name",
              "details.system.name", "details.ci", "file.version"]
    missing = [name for name in needed if name not in fields]
    if "project" not in fields and "file.project" not in fields:
        missing.append("project or file.project")
    if missing:
        raise IngestError(
            f"{path}: Parquet file lacks the download-log field(s) {', '.join(missing)} "
            f"(it has {', '.join(sorted(fields)) or 'no columns'})"
        )
    stamp = fields["timestamp"]
    if pa.types.is_timestamp(stamp) or pa.types.is_date(stamp):
        day = "CAST(timestamp AS DATE)"
    elif pa.types.is_string(stamp) or pa.types.is_large_string(stamp):
        day = _TEXT_DAY.format("timestamp")
    else:
        raise IngestError(f"{path}: column timestamp has type {stamp}, expected a timestamp")
    names = [n for n in ("project", "file.project") if n in fields]
    project = "coalesce(" + ", ".join(f"nullif({_cast(fields, n)}, '')" for n in names) + ")"
    return f"""
        SELECT
            {day} AS day,
            CASE WHEN timestamp IS NULL THEN 'missing_timestamp'
                 WHEN {day} IS NULL THEN 'invalid_timestamp' END AS bad,
            {project} AS project,
            {_cast(fields, "details.python")} AS python,
            {_cast(fields, "details.installer.name")} AS installer,
            {_cast(fields, "details.system.name")} AS system,
            {_cast(fields, "file.version")} AS version,
            {_cast(fields, "details.ci", "BOOLEAN")} AS ci,
            count(*) AS n
        FROM read_parquet($paths)
        GROUP BY ALL"""  # noqa: S608 (fixed SQL; values are bound parameters)


def _cast(fields: dict[str, Any], name: str, sql_type: str = "VARCHAR") -> str:
    """``name`` as ``sql_type``; a column Parquet typed as null (all empty) is a NULL literal."""
    import pyarrow as pa

    if pa.types.is_null(fields[name]):
        return f"CAST(NULL AS {sql_type})"
    return f"CAST({name} AS {sql_type})"


def _flatten(schema: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    import pyarrow as pa

    for item in schema:
        name = prefix + item.name
        yield name, item.type
        if pa.types.is_struct(item.type):
            yield from _flatten(item.type, name + ".")
