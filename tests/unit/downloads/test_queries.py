"""The read side's building blocks: name and range parsing, freshness, series and gaps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from pkgdex import db
from pkgdex.downloads import queries
from pkgdex.downloads.params import (
    PackageNameError,
    ParameterError,
    canonical_package,
    parse_bool,
    parse_day,
    parse_stats_params,
    window,
)
from support.stats_tables import store_daily, store_ledger, store_recent

DAY = dt.date(2026, 9, 10)


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = db.make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Django", "django"),
        ("zope.interface", "zope-interface"),
        ("Zope__Interface", "zope-interface"),
        ("a-_.b", "a-b"),
        ("x", "x"),
        ("__all__", "__all__"),
    ],
)
def test_names_are_pep503_normalised(raw: str, canonical: str) -> None:
    assert canonical_package(raw) == canonical


@pytest.mark.parametrize(
    "raw", ["", "-a", "a-", ".a", "a b", "a/b", "naïve", "a" * 201, "_all_", "numpy\n"]
)
def test_impossible_names_are_refused(raw: str) -> None:
    with pytest.raises(PackageNameError, match="not a valid PyPI package name"):
        canonical_package(raw)


def test_days_are_strict() -> None:
    assert parse_day("2026-02-28", "start") == dt.date(2026, 2, 28)
    assert parse_day(None, "start") is None and parse_day("", "start") is None
    bad_days = ("2026-02-30", "2026-2-3", "20260203", "2026-02-03T00:00", " 2026-02-03",
                "2026-02-03\n", "２０２６-02-03")  # fmt: skip
    for bad in bad_days:
        with pytest.raises(ParameterError, match="start"):
            parse_day(bad, "start")


def test_booleans() -> None:
    assert parse_bool(None, "ci", default=True) is True
    assert parse_bool("FALSE", "ci", default=True) is False
    assert parse_bool("1", "ci", default=False) is True
    with pytest.raises(ParameterError, match="ci must be true or false"):
        parse_bool("nope", "ci", default=True)


def test_window_defaults_to_the_days_ending_on_as_of() -> None:
    full = window(DAY, None, None)
    assert full is not None and full.end == DAY and (full.end - full.start).days == 179
    assert window(None, None, None) is None
    ranged = window(DAY, dt.date(2020, 1, 1), dt.date(2020, 1, 5))
    assert ranged is not None and (ranged.start, ranged.end) == (dt.date(2020, 1, 1),
                                                                  dt.date(2020, 1, 5))  # fmt: skip
    only_end = window(DAY, None, dt.date(2026, 1, 10), default_days=10)
    assert only_end is not None and only_end.start == dt.date(2026, 1, 1)
    with pytest.raises(ParameterError, match="before start"):
        window(DAY, DAY + dt.timedelta(days=1), None)  # start after the latest day
    earliest = window(DAY, None, dt.date(1, 1, 5))
    assert earliest is not None and earliest.start == dt.date.min


def test_end_before_start_is_refused_while_parsing() -> None:
    with pytest.raises(ParameterError, match="before start"):
        parse_stats_params("numpy", "2026-01-02", "2026-01-01", None)


def test_freshness_prefers_the_ledger_and_falls_back_to_the_data(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert queries.freshness(conn) == queries.Freshness(None, False)
    store_daily(sqlite_engine, {("a", "overall", DAY, "with_mirrors", False): 1})
    with sqlite_engine.connect() as conn:
        assert queries.freshness(conn) == queries.Freshness(DAY, False)
    store_ledger(sqlite_engine, [DAY - dt.timedelta(days=1)], synthetic=True)
    with sqlite_engine.connect() as conn:
        assert queries.freshness(conn) == queries.Freshness(DAY - dt.timedelta(days=1), True)


def test_series_sums_ci_flags_and_sorts_by_code_point(sqlite_engine: Engine) -> None:
    store_daily(
        sqlite_engine,
        {
            ("a", "system", DAY, "null", False): 1,
            ("a", "system", DAY, "Windows", False): 2,
            ("a", "system", DAY, "Windows", True): 3,
            ("a", "system", DAY - dt.timedelta(days=1), "Windows", False): 4,
            ("a", "system", DAY, "Linux", True): 5,
            ("b", "system", DAY, "Linux", False): 100,
            ("a", "overall", DAY, "with_mirrors", False): 100,
        },
    )
    with sqlite_engine.connect() as conn:
        start = DAY - dt.timedelta(days=5)
        assert list(queries.series(conn, "a", "system", start, DAY)) == [
            ("Linux", "2026-09-10", 5),
            ("Windows", "2026-09-09", 4),
            ("Windows", "2026-09-10", 5),
            ("null", "2026-09-10", 1),
        ]
        assert list(queries.series(conn, "a", "system", start, DAY, ci=False)) == [
            ("Windows", "2026-09-09", 4),
            ("Windows", "2026-09-10", 2),
            ("null", "2026-09-10", 1),
        ]
        only = queries.series(conn, "a", "system", DAY, DAY, categories=["WINDOWS"])
        assert list(only) == [("Windows", "2026-09-10", 5)]
        assert queries.totals(conn, "a", "system", start, DAY) == {
            "Linux": 5, "Windows": 9, "null": 1,
        }  # fmt: skip


def test_recent_and_top(sqlite_engine: Engine) -> None:
    store_recent(
        sqlite_engine,
        {
            ("a", False): (1, 2, 3),
            ("a", True): (10, 20, 30),
            ("b", False): (5, 5, 5),
            ("__all__", False): (99, 99, 99),
            ("zero", False): (0, 0, 0),
        },
    )
    with sqlite_engine.connect() as conn:
        assert queries.recent(conn, "a") == {"last_day": 11, "last_week": 22, "last_month": 33}
        assert queries.recent(conn, "a", ci=False) == {
            "last_day": 1, "last_week": 2, "last_month": 3,
        }  # fmt: skip
        assert queries.recent(conn, "zero") == {"last_day": 0, "last_week": 0, "last_month": 0}
        assert queries.recent(conn, "missing") is None
        assert queries.top(conn, "month", 10) == [("a", 33), ("b", 5)]
        assert queries.top(conn, "day", 10, ci=False) == [("b", 5), ("a", 1)]
        assert queries.top(conn, "week", 1) == [("a", 22)]


def test_gaps() -> None:
    days = [DAY, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=4)]
    assert queries.gaps(days) == [DAY + dt.timedelta(days=2), DAY + dt.timedelta(days=3)]
    assert queries.gaps([]) == [] and queries.gaps([DAY]) == []
