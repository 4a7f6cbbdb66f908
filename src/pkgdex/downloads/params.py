"""Parsing what every statistics request shares: package name, date range, CI filter.

Names are matched after full PEP 503 normalisation; the original only replaced ``.`` and
``_``, so ``Django`` or ``zope--interface`` missed. ``__all__`` is the sum over all packages
and is kept as is, like the original.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from packaging.utils import canonicalize_name
from pydantic import AfterValidator

from pkgdex.downloads import queries
from pkgdex.downloads.models import ALL_PACKAGES
from pkgdex.errors import ApiError

COMPATIBLE_DAYS = 180
MAX_PACKAGE_LENGTH = 200
# PEP 508 names: letters, digits, and . _ - inside.
VALID_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # fullmatch: no trailing newline


class ParameterError(ValueError):
    """A query parameter that cannot be used; its message says which and why."""


class PackageNameError(ValueError):
    """A string that cannot be a PyPI project name."""


def canonical_package(raw: str) -> str:
    """The PEP 503 form of ``raw``; raises PackageNameError when it cannot be a name."""
    if raw == ALL_PACKAGES:
        return raw
    if len(raw) > MAX_PACKAGE_LENGTH or not VALID_NAME.fullmatch(raw):
        shown = raw if len(raw) <= 60 else raw[:60] + "..."
        raise PackageNameError(f"not a valid PyPI package name: {shown!r}")
    return canonicalize_name(raw)


def parse_day(value: str | None, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if not ISO_DAY.fullmatch(value):
        raise ParameterError(f"{name} must be a date like 2024-01-31, got {value[:40]!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ParameterError(f"{name} is not a calendar date: {value!r}") from None


def parse_bool(value: str | None, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    lowered = value.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ParameterError(f"{name} must be true or false, got {value[:40]!r}")


@dataclass(frozen=True)
class Window:
    """Inclusive day range of a response."""

    start: dt.date
    end: dt.date


def window(
    as_of: dt.date | None,
    start: dt.date | None,
    end: dt.date | None,
    default_days: int = COMPATIBLE_DAYS,
) -> Window | None:
    """The requested days; by default the ``default_days`` ending on the latest ingested day.

    None when nothing was ever ingested and no range was asked for.
    """
    if end is None:
        if as_of is None and start is None:
            return None
        end = as_of if as_of is not None else start
    assert end is not None
    if start is None:
        # Near year 1 the subtraction would overflow: the range then starts at the first day.
        span = min(default_days - 1, (end - dt.date.min).days)
        start = end - dt.timedelta(days=span)
    if end < start:
        raise ParameterError(f"end ({end}) is before start ({start})")
    return Window(start, end)


@dataclass(frozen=True)
class StatsParams:
    """The shared parameters, parsed; the range is resolved once the as-of day is known."""

    package: str
    start: dt.date | None
    end: dt.date | None
    ci: bool


@dataclass(frozen=True)
class StatsQuery:
    """One statistics request: who, which days, whether CI downloads count, data freshness."""

    package: str
    window: Window | None
    ci: bool
    freshness: queries.Freshness


def freshness_headers(freshness: queries.Freshness) -> dict[str, str]:
    return {
        "X-Data-As-Of": freshness.as_of.isoformat() if freshness.as_of else "none",
        "X-Data-Synthetic": "true" if freshness.synthetic else "false",
    }


def api_error(status: int, code: str, message: str, freshness: queries.Freshness) -> ApiError:
    return ApiError(status, code, message, freshness_headers(freshness))


def parse_stats_params(
    package: str, start: str | None, end: str | None, ci: str | None
) -> StatsParams:
    """Raises PackageNameError or ParameterError with a message naming the culprit."""
    name = canonical_package(package)
    first, last = parse_day(start, "start"), parse_day(end, "end")
    if first is not None and last is not None and last < first:
        raise ParameterError(f"end ({last}) is before start ({first})")
    return StatsParams(name, first, last, parse_bool(ci, "ci", default=True))


def resolve(
    params: StatsParams, fresh: queries.Freshness, default_days: int = COMPATIBLE_DAYS
) -> StatsQuery:
    """The request against the data as it is now; raises ParameterError."""
    days = window(fresh.as_of, params.start, params.end, default_days)
    return StatsQuery(params.package, days, params.ci, fresh)


def printable(value: str | None) -> str | None:
    """A category filter: PostgreSQL refuses NUL in text, so control characters stop here."""
    if value is not None and not value.isprintable():
        raise ValueError("must not contain control characters")
    return value


CategoryFilter = Annotated[
    str | None,
    AfterValidator(printable),
    Query(max_length=64, description="Only this category (case-insensitive)."),
]
StartParam = Annotated[str | None, Query(description="First day, YYYY-MM-DD (inclusive).")]
EndParam = Annotated[str | None, Query(description="Last day, YYYY-MM-DD (inclusive).")]
CiParam = Annotated[str | None, Query(description="'false' leaves out CI downloads.")]


async def stats_params(
    package: str, start: StartParam = None, end: EndParam = None, ci: CiParam = None
) -> StatsParams:
    """Dependency: parse the shared parameters; errors become the envelope.

    Pure parsing, so it runs on the event loop instead of costing a thread hop.
    """
    try:
        return parse_stats_params(package, start, end, ci)
    except PackageNameError as exc:
        raise ApiError(400, "invalid_package", str(exc)) from None
    except ParameterError as exc:
        raise ApiError(422, "invalid_parameter", str(exc)) from None


StatsParamsDep = Annotated[StatsParams, Depends(stats_params)]
