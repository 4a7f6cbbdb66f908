"""BigQuery-shaped download rows for tests, and an independent reference of pypistats' numbers.

``generate_rows`` builds rows shaped like ``bigquery-public-data.pypi.file_downloads`` exported
as newline-delimited JSON: nested ``file`` / ``details`` records, NULL fields sometimes ``null``
and sometimes absent, with every awkward case the category rules care about (NULL and mirror
installers, malformed Python strings, unknown and NULL systems, CI rows, non-canonical project
names, rows without project or timestamp) over several days and packages.

``expected_stats`` computes, in plain Python and without sharing any code with pkgdex, what
pypistats.org would store for those rows: one count per (package, breakdown, date, category,
ci), the ``__all__`` sums, the recent windows and the rejections. Tests of the ingestion and of
the HTTP APIs compare pkgdex's output with it.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ALL = "__all__"
MIRRORS = frozenset({"bandersnatch", "z3c.pypimirror", "Artifactory", "devpi"})
SYSTEMS = frozenset({"Windows", "Linux", "Darwin"})
PYTHON_OK = re.compile(r"[0-9]\.[0-9]+.*")  # used with fullmatch: RE2 semantics, no newline
PYTHON_MINOR = re.compile(r"[0-9]+\.[0-9]+")
MAX_CATEGORY = 128

# Project spellings as they appear in the log; several share one canonical name.
PROJECTS = (
    "requests",
    "Requests",
    "numpy",
    "zope.interface",
    "Zope_Interface",
    "typing-extensions",
    "typing_extensions",
    "Django",
    "ruamel.yaml",
    "tiny-pkg",
)
INSTALLERS: tuple[str | None, ...] = (
    "pip", "pip", "pip", "uv", "poetry", "requests", "bandersnatch", "devpi", "Artifactory",
    "z3c.pypimirror", None,
)
PYTHONS: tuple[str | None, ...] = (
    "3.12.7", "3.11.4", "3.8.18", "2.7.18", "3.10.12", "3.13.0rc1", "3.100.1", "3.9", None,
)
MALFORMED_PYTHONS = ("", "x.y", "3", "10.1.2", " 3.8", "3.8\nx", "3.x", "3.")
SYSTEM_NAMES: tuple[str | None, ...] = (
    "Linux", "Linux", "Windows", "Darwin", "FreeBSD", "", "emscripten", None,
)
CIS: tuple[bool | None, ...] = (True, False, False, None)
VERSIONS = ("1.0.0", "1.0.1", "2.0.0rc1", None)


def canonical(name: str) -> str:
    """PEP 503 normalised form."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _timestamp(day: date, rng: random.Random) -> str:
    moment = datetime(day.year, day.month, day.day) + timedelta(
        seconds=rng.randrange(86400), microseconds=rng.randrange(1_000_000)
    )
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _maybe(record: dict[str, Any], key: str, value: Any, rng: random.Random) -> None:
    """Set ``record[key]``; a NULL is written as ``null`` or left out, as BigQuery exports do."""
    if value is None and rng.random() < 0.5:
        return
    record[key] = value


def make_row(
    project: str | None,
    day: date | None,
    *,
    installer: str | None = "pip",
    python: str | None = "3.12.7",
    system: str | None = "Linux",
    ci: bool | None = False,
    version: str | None = "1.0.0",
    file_project: str | None = None,
    rng: random.Random | None = None,
) -> dict[str, Any]:
    """One BigQuery-shaped row (NULLs as ``null`` or absent, chosen by ``rng``)."""
    rng = rng or random.Random(0)
    file_project = project if file_project is None else file_project
    row: dict[str, Any] = {}
    _maybe(row, "timestamp", _timestamp(day, rng) if day else None, rng)
    row["country_code"] = rng.choice(("US", "DE", "CN", None))
    _maybe(row, "project", project, rng)
    file: dict[str, Any] = {"filename": f"{file_project}-{version}.tar.gz", "type": "sdist"}
    _maybe(file, "project", file_project, rng)
    _maybe(file, "version", version, rng)
    row["file"] = file
    details: dict[str, Any] = {}
    _maybe(details, "installer", {"name": installer, "version": "1"} if installer else None, rng)
    _maybe(details, "python", python, rng)
    _maybe(details, "system", {"name": system, "release": "6.8"} if system is not None else None,
           rng)
    _maybe(details, "ci", ci, rng)
    details["cpu"] = "x86_64"
    row["details"] = details
    row["tls_protocol"] = "TLSv1.3"
    return row


def generate_rows(
    *,
    seed: int = 20260901,
    start: date = date(2026, 9, 1),
    days: int = 10,
    rows_per_day: int = 300,
    projects: Iterable[str] = PROJECTS,
) -> list[dict[str, Any]]:
    """Deterministic rows over ``days`` days, plus a handful of rows that must be rejected."""
    rng = random.Random(seed)
    names = list(projects)
    rows: list[dict[str, Any]] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        # Skewed so packages differ in size; the last project only appears on some days.
        for _ in range(rows_per_day):
            project = names[min(int(rng.expovariate(0.5)), len(names) - 1)]
            rows.append(
                make_row(
                    project,
                    day,
                    installer=rng.choice(INSTALLERS),
                    python=rng.choice(
                        MALFORMED_PYTHONS if rng.random() < 0.1 else PYTHONS
                    ),
                    system=rng.choice(SYSTEM_NAMES),
                    ci=rng.choice(CIS),
                    version=rng.choice(VERSIONS),
                    rng=rng,
                )
            )
        # project missing but file.project present: counted under file.project
        rows.append(make_row(None, day, file_project="Tiny_Pkg", rng=rng))
    # rows that are rejected: no project anywhere, no timestamp
    rows.append({"timestamp": _timestamp(start, rng), "file": {}, "details": {"python": "3.9"}})
    rows.append({"timestamp": _timestamp(start, rng), "project": None, "file": {"project": None}})
    rows.append({"project": "numpy", "file": {"project": "numpy"}, "details": {}})
    rows.append({"timestamp": None, "project": "numpy", "file": {}, "details": {}})
    rng.shuffle(rows)
    return rows


def write_ndjson(rows: Iterable[Mapping[str, Any]], path: Path) -> Path:
    """Write rows as BigQuery's NDJSON export; gzip when the name ends with ``.gz``."""
    text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_parquet(rows: Iterable[Mapping[str, Any]], path: Path) -> Path:
    """Write rows as a BigQuery Parquet export (nested records, TIMESTAMP in UTC)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = pa.struct([("name", pa.string()), ("version", pa.string())])
    schema = pa.schema(
        [
            ("timestamp", pa.timestamp("us", tz="UTC")),
            ("country_code", pa.string()),
            ("project", pa.string()),
            ("file", pa.struct([("filename", pa.string()), ("project", pa.string()),
                                ("version", pa.string()), ("type", pa.string())])),
            ("details", pa.struct([
                ("installer", name),
                ("python", pa.string()),
                ("system", pa.struct([("name", pa.string()), ("release", pa.string())])),
                ("cpu", pa.string()),
                ("ci", pa.bool_()),
            ])),
        ]
    )
    records = []
    for row in rows:
        record = dict(row)
        stamp = record.get("timestamp")
        record["timestamp"] = (
            datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f UTC") if stamp else None
        )
        records.append({key: record.get(key) for key in schema.names})
    pq.write_table(pa.Table.from_pylist(records, schema=schema), path)
    return path


Key = tuple[str, str, date, str, bool]  # package, breakdown, date, category, ci


@dataclass
class Expected:
    """What pkgdex must store for a set of raw rows."""

    daily: dict[Key, int] = field(default_factory=dict)
    recent: dict[tuple[str, bool], tuple[int, int, int]] = field(default_factory=dict)
    rows_read: Counter[date | None] = field(default_factory=Counter)  # None: undated rows
    rejected: dict[date | None, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def days(self) -> list[date]:
        return sorted({key[2] for key in self.daily})

    @property
    def packages(self) -> list[str]:
        return sorted({key[0] for key in self.daily} - {ALL})

    def series(
        self, package: str, breakdown: str, *, ci: bool | None = None
    ) -> dict[tuple[str, date], int]:
        """(category, date) -> downloads; ``ci=None`` sums both flags, like ``all``."""
        out: Counter[tuple[str, date]] = Counter()
        for (pkg, kind, day, category, is_ci), count in self.daily.items():
            if pkg == package and kind == breakdown and (ci is None or is_ci == ci):
                out[category, day] += count
        return dict(out)

    def recent_for(self, package: str, *, ci: bool | None = None) -> tuple[int, int, int]:
        """(last_day, last_week, last_month); ``ci=False`` excludes CI downloads."""
        flags = (False, True) if ci is None else (ci,)
        parts = [self.recent.get((package, flag), (0, 0, 0)) for flag in flags]
        return (
            sum(p[0] for p in parts),
            sum(p[1] for p in parts),
            sum(p[2] for p in parts),
        )


def _field(row: Mapping[str, Any], *path: str) -> Any:
    value: Any = row
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _day_of(stamp: Any) -> date | None:
    if not isinstance(stamp, str):
        return None
    try:
        return date.fromisoformat(stamp[:10])
    except ValueError:
        return None


def expected_stats(rows: Iterable[Mapping[str, Any]]) -> Expected:
    """pypistats.org's numbers for ``rows``, computed row by row."""
    result = Expected()
    counts: Counter[Key] = Counter()
    for row in rows:
        day = _day_of(row.get("timestamp"))
        result.rows_read[day] += 1
        if day is None:
            reason = "missing_timestamp" if row.get("timestamp") is None else "invalid_timestamp"
            result.rejected[None][reason] += 1
            continue
        project = row.get("project") or _field(row, "file", "project")
        if not project:
            result.rejected[day]["missing_project"] += 1
            continue
        package = canonical(project)
        if len(package) > MAX_CATEGORY:
            result.rejected[day]["package_name_too_long"] += 1
            continue
        if "\x00" in package:
            result.rejected[day]["package_name_has_nul"] += 1
            continue
        python = _field(row, "details", "python")
        if python is not None and not PYTHON_OK.fullmatch(python):
            result.rejected[day]["invalid_python"] += 1
            continue
        ci = _field(row, "details", "ci") is True
        counts[package, "overall", day, "with_mirrors", ci] += 1
        installer = _field(row, "details", "installer", "name")
        if installer is None or installer in MIRRORS:
            continue
        counts[package, "overall", day, "without_mirrors", ci] += 1
        for breakdown, category in _categories(row, python, installer):
            if category is not None and len(category) <= MAX_CATEGORY and "\x00" not in category:
                counts[package, breakdown, day, category, ci] += 1
    totals: Counter[Key] = Counter()
    for (_, breakdown, day, category, ci), count in counts.items():
        totals[ALL, breakdown, day, category, ci] += count
    counts.update(totals)
    result.daily = dict(counts)
    result.recent = _recent(result.daily)
    return result


def _categories(
    row: Mapping[str, Any], python: str | None, installer: str
) -> list[tuple[str, str | None]]:
    minor: str | None
    if python is None:
        major, minor = "null", "null"
    else:
        major = python.split(".")[0]
        found = PYTHON_MINOR.match(python)
        minor = found.group(0) if found else "null"
        if len(minor) > 4:  # pypistats drops python_minor categories like "3.100"
            minor = None
    system = _field(row, "details", "system", "name")
    system_category = "null" if system is None else system if system in SYSTEMS else "other"
    version = _field(row, "file", "version")
    return [
        ("python_major", major),
        ("python_minor", minor),
        ("system", system_category),
        ("installer", installer),
        ("version", "null" if version is None else version),
    ]


def _recent(daily: Mapping[Key, int]) -> dict[tuple[str, bool], tuple[int, int, int]]:
    if not daily:
        return {}
    latest = max(key[2] for key in daily)
    sums: dict[tuple[str, bool], list[int]] = {}
    for (package, breakdown, day, category, ci), count in daily.items():
        if breakdown != "overall" or latest - day >= timedelta(days=30):
            continue
        entry = sums.setdefault((package, ci), [0, 0, 0])
        if category != "without_mirrors":
            continue
        age = (latest - day).days
        entry[0] += count if age == 0 else 0
        entry[1] += count if age < 7 else 0
        entry[2] += count
    return {key: (v[0], v[1], v[2]) for key, v in sums.items()}
