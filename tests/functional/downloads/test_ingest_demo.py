"""The demo's synthetic download history: deterministic, consistent, labelled synthetic."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from sqlalchemy import Engine, select

from pkgdex.downloads import demo, jobs
from pkgdex.downloads.models import downloads_daily, downloads_ledger, downloads_recent


def test_split_is_exact_and_deterministic() -> None:
    for total in (0, 1, 7, 12345):
        parts = demo.split(total, demo.SHARES["system"], random.Random(1))
        assert sum(parts.values()) == total and all(v > 0 for v in parts.values())
        assert parts == demo.split(total, demo.SHARES["system"], random.Random(1))


def test_history_is_the_same_every_time() -> None:
    assert demo.history(["numpy", "pip"]) == demo.history(["numpy", "pip"])


def test_load_demo_writes_180_synthetic_days(engine: Engine) -> None:
    jobs.load_demo(engine)
    with engine.connect() as conn:
        ledger = conn.execute(select(downloads_ledger)).mappings().all()
        rows = conn.execute(select(downloads_daily)).all()
        recent = {(r.package, r.ci): r for r in conn.execute(select(downloads_recent))}
    assert len(ledger) == demo.DAYS and all(row["synthetic"] for row in ledger)
    assert max(row["date"] for row in ledger) == demo.LAST_DAY
    assert min(row["date"] for row in ledger) == demo.LAST_DAY - timedelta(days=demo.DAYS - 1)
    sums: Counter[tuple[str, str, object, bool]] = Counter()
    for package, breakdown, day, category, ci, downloads in rows:
        key = "overall:" + category if breakdown == "overall" else breakdown
        sums[package, key, day, ci] += downloads
    for (package, key, day, ci), total in sums.items():
        if key != "overall:without_mirrors":
            continue
        for breakdown in ("python_major", "python_minor", "system", "installer", "version"):
            assert sums[package, breakdown, day, ci] == total
        assert sums[package, "overall:with_mirrors", day, ci] >= total
    packages = {row[0] for row in rows}
    assert "__all__" in packages and len(packages) == len(demo.demo_packages()) + 1
    assert recent["__all__", False].last_month > recent["__all__", False].last_week > 0
