"""A deterministic synthetic download history for the demo packages (labelled synthetic).

Counts are made up but consistent: every breakdown of a day sums to its ``without_mirrors``,
and the same seed always gives the same numbers, so the demo and its screenshots are stable.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import random
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine

from pkgdex.downloads.services import DayLedger, replace_days

DemoRow = tuple[str, str, date, str, bool, int]  # package, breakdown, day, category, ci, n
DAYS = 180
LAST_DAY = date(2026, 10, 15)  # fixed, so the demo is the same on every machine
DEMO_DATA = Path(__file__).resolve().parents[1] / "demo" / "data"
MAX_PACKAGES = 50
FALLBACK_PACKAGES = (
    "boto3", "urllib3", "botocore", "requests", "setuptools", "certifi", "idna",
    "charset-normalizer", "typing-extensions", "python-dateutil", "s3transfer", "packaging",
    "six", "aiobotocore", "numpy", "pyyaml", "s3fs", "fsspec", "pip", "cryptography",
    "grpcio-status", "google-api-core", "cffi", "pycparser", "pandas", "importlib-metadata",
    "pyasn1", "zipp", "rsa", "protobuf", "jmespath", "click", "attrs", "platformdirs",
    "pydantic", "wheel", "jinja2", "markupsafe", "pytz", "colorama", "filelock", "awscli",
    "tomli", "pluggy", "virtualenv", "pyjwt", "googleapis-common-protos", "wrapt", "pytest",
    "sqlalchemy",
)
SHARES = {
    "python_major": {"3": 0.97, "2": 0.02, "null": 0.01},
    "python_minor": {"3.12": 0.31, "3.11": 0.27, "3.10": 0.18, "3.9": 0.12, "3.13": 0.07,
                     "3.8": 0.02, "2.7": 0.02, "null": 0.01},
    "system": {"Linux": 0.86, "Windows": 0.07, "Darwin": 0.05, "other": 0.01, "null": 0.01},
    "installer": {"pip": 0.78, "uv": 0.14, "poetry": 0.06, "requests": 0.02},
}


def demo_packages() -> list[str]:
    """The bundled demo snapshot's most downloaded PyPI names, or a fixed list without it."""
    for path in sorted(DEMO_DATA.glob("pypi*.tsv*")):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            names = _ranked_names(handle)
        if names:
            return names[:MAX_PACKAGES]
    return list(FALLBACK_PACKAGES)


def _ranked_names(handle: io.TextIOBase) -> list[str]:
    reader = csv.DictReader(handle, delimiter="\t")
    ranked: list[tuple[int, str]] = []
    for row in reader:
        rank = (row.get("rank_among_15000_most_downloaded") or "").strip()
        if row.get("name") and rank.isdigit():
            ranked.append((int(rank), re.sub(r"[-_.]+", "-", row["name"]).lower()))
    return [name for _, name in sorted(ranked)]


def split(total: int, shares: dict[str, float], rng: random.Random) -> dict[str, int]:
    """Split ``total`` by jittered ``shares`` into integers that sum to ``total`` exactly."""
    weights = {key: share * rng.uniform(0.85, 1.15) for key, share in shares.items()}
    scale = total / sum(weights.values())
    exact = {key: weight * scale for key, weight in weights.items()}
    parts = {key: math.floor(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: exact[key] - parts[key], reverse=True)
    for key in by_remainder[: total - sum(parts.values())]:
        parts[key] += 1
    return {key: value for key, value in parts.items() if value > 0}


def _package_days(package: str, rank: int, days: list[date]) -> Iterator[DemoRow]:
    rng = random.Random(f"pkgdex-demo-{package}")  # noqa: S311 (reproducible, not secret)
    base = 4_000_000 / (rank + 1) ** 0.9
    growth = rng.uniform(-0.001, 0.004)
    versions = [f"{rng.randint(1, 5)}.{minor}.0" for minor in range(4)]
    for offset, day in enumerate(days):
        weekend = 0.6 if day.weekday() >= 5 else 1.0
        total = int(base * weekend * math.exp(growth * offset) * rng.uniform(0.9, 1.1))
        ci_total = int(total * rng.uniform(0.15, 0.3))
        for ci, without in ((True, ci_total), (False, total - ci_total)):
            yield package, "overall", day, "without_mirrors", ci, without
            mirrors = int(without * rng.uniform(0.0, 0.03))
            yield package, "overall", day, "with_mirrors", ci, without + mirrors
            for breakdown, shares in SHARES.items():
                for category, count in split(without, shares, rng).items():
                    yield package, breakdown, day, category, ci, count
            latest = min(len(versions), 1 + offset * len(versions) // len(days))
            version_shares = {v: 2.0**i for i, v in enumerate(versions[:latest])}
            for category, count in split(without, version_shares, rng).items():
                yield package, "version", day, category, ci, count


def history(packages: list[str], last_day: date = LAST_DAY, days: int = DAYS) -> list[DemoRow]:
    span = [last_day - timedelta(days=days - 1 - n) for n in range(days)]
    return [row for rank, name in enumerate(packages) for row in _package_days(name, rank, span)]


def load(engine: Engine, packages: list[str] | None = None) -> None:
    """Write the synthetic history; its ledger rows say ``synthetic``."""
    rows = history(packages or demo_packages())
    ledger: dict[date, DayLedger] = {}
    for _, breakdown, day, category, _, count in rows:
        if breakdown == "overall" and category == "with_mirrors":
            ledger[day] = DayLedger(ledger.get(day, DayLedger(0)).rows_read + count)
    replace_days(engine, ledger, [rows], ledger, source="synthetic demo data", synthetic=True)
