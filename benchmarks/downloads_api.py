"""Download-statistics API speed on 180 days x 10,000 packages, through real HTTP.

Builds a SQLite database in a temporary directory with synthetic daily rows (bulk
``INSERT ... SELECT`` in primary-key order), serves it with uvicorn, and measures every
pypistats-compatible endpoint (p50/p99 over many requests, random packages), PNG charts
uncached and cached, against naive baselines run on the same database in the same run:
the same series query forced to scan (``NOT INDEXED``), and ``recent`` computed by summing
daily rows instead of reading the materialised table.

    .venv/bin/python benchmarks/downloads_api.py [--packages 10000] [--days 180]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from measure import cpu_seconds, percentile
from pkgdex import db

LATEST = dt.date(2026, 10, 31)
BIG_PACKAGES = 500  # the head of the distribution gets every category every day
# (breakdown, category, ci, big packages only)
CATEGORIES = [
    ("overall", "with_mirrors", False, False), ("overall", "with_mirrors", True, True),
    ("overall", "without_mirrors", False, False), ("overall", "without_mirrors", True, True),
    ("python_major", "3", False, False), ("python_major", "null", False, True),
    ("python_minor", "3.10", False, True), ("python_minor", "3.11", False, True),
    ("python_minor", "3.12", False, False), ("python_minor", "3.13", False, False),
    ("python_minor", "3.9", False, True),
    ("system", "Darwin", False, True), ("system", "Linux", False, False),
    ("system", "Windows", False, False), ("system", "null", False, True),
    ("system", "other", False, True),
    ("installer", "pip", False, False), ("installer", "poetry", False, True),
    ("installer", "uv", False, True),
    ("version", "1.0.0", False, False), ("version", "1.1.0", False, True),
    ("version", "2.0.0", False, True),
]  # fmt: skip
COMPATIBLE = ["recent", "overall", "python_major", "python_minor", "system"]
EXTENDED = ["installer", "versions", "summary", "chart/python_minor?format=json"]


def build_database(path: Path, packages: int, days: int) -> str:
    url = f"sqlite:///{path}"
    db.upgrade(url)
    conn = sqlite3.connect(path)
    conn.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;")
    conn.execute("CREATE TEMP TABLE pkgs (name TEXT PRIMARY KEY, scale INTEGER, big INTEGER)")
    names = [f"pkg-{i:05d}" for i in range(packages - 1)] + ["__all__"]
    conn.executemany(
        "INSERT INTO pkgs VALUES (?, ?, ?)",
        [(n, max(2, 10_000_000 // (i + 1)), int(i < BIG_PACKAGES or n == "__all__"))
         for i, n in enumerate(names)],
    )  # fmt: skip
    conn.execute("CREATE TEMP TABLE days (d TEXT PRIMARY KEY)")
    conn.executemany(
        "INSERT INTO days VALUES (?)",
        [((LATEST - dt.timedelta(days=n)).isoformat(),) for n in range(days)],
    )
    conn.execute("CREATE TEMP TABLE cats (breakdown TEXT, category TEXT, ci INTEGER, big INTEGER)")
    conn.executemany("INSERT INTO cats VALUES (?, ?, ?, ?)", CATEGORIES)
    conn.execute(
        "INSERT INTO downloads_daily (package, breakdown, date, category, ci, downloads) "
        # a level per package with day-to-day noise of up to a quarter, like real series
        "SELECT p.name, c.breakdown, d.d, c.category, c.ci, p.scale + abs(random()) % "
        "(p.scale / 4 + 1) "
        "FROM pkgs p CROSS JOIN cats c CROSS JOIN days d WHERE p.big OR NOT c.big "
        "ORDER BY p.name, c.breakdown, d.d, c.category, c.ci"
    )
    conn.execute(
        "INSERT INTO downloads_recent (package, ci, last_day, last_week, last_month) "
        "SELECT package, ci, sum(CASE WHEN date = :l THEN downloads ELSE 0 END), "
        "sum(CASE WHEN date > date(:l, '-7 days') THEN downloads ELSE 0 END), "
        "sum(downloads) FROM downloads_daily WHERE breakdown = 'overall' "
        "AND category = 'without_mirrors' AND date > date(:l, '-30 days') GROUP BY package, ci",
        {"l": LATEST.isoformat()},
    )
    conn.executemany(
        "INSERT INTO downloads_ledger VALUES (?, 'benchmark', 0, 0, '{}', 1, ?, 0)",
        [(d, dt.datetime.now(dt.UTC).isoformat()) for (d,) in conn.execute("SELECT d FROM days")],
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEX_")}
    env.update({"PKGDEX_DATABASE_URL": url, "PKGDEX_RATE_LIMITS": "off", "PKGDEX_OFFLINE": "1"})
    command = [sys.executable, "-m", "uvicorn", "pkgdex.app:app_from_environment", "--factory",
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/api/downloads/status", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start")


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    """p50, p99 and the maximum of ``samples`` (seconds), in milliseconds."""
    return statistics.median(samples) * 1000, percentile(samples, 99) * 1000, max(samples) * 1000


def timed(get: Callable[[], httpx.Response], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = get()
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text[:200]
    return samples


def sql_timed(conn: sqlite3.Connection, sql: str, params: list[tuple[object, ...]]) -> list[float]:
    samples = []
    for p in params:
        started = time.perf_counter()
        conn.execute(sql, p).fetchall()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--requests", type=int, default=400, help="per endpoint")
    parser.add_argument("--reuse", type=Path, help="a database an earlier run built (same sizes)")
    args = parser.parse_args()
    rng = random.Random(1)
    workdir = Path(tempfile.mkdtemp(prefix="pkgdex-bench-api-"))
    started = time.perf_counter()
    path = args.reuse or workdir / "stats.db"
    url = f"sqlite:///{path}" if args.reuse else build_database(path, args.packages, args.days)
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT count(*) FROM downloads_daily").fetchone()[0]
    size = path.stat().st_size / 2**20
    verb, took = "reused" if args.reuse else "built", time.perf_counter() - started
    print(f"{verb} {rows:,} daily rows ({size:,.0f} MiB) in {took:.0f} s\n")
    names = [f"pkg-{i:05d}" for i in range(args.packages - 1)]

    # half the requests ask for the biggest packages (the most rows per answer)
    def pick() -> str:
        return rng.choice(names[:BIG_PACKAGES]) if rng.random() < 0.5 else rng.choice(names)

    process, base = start_server(url, workdir)
    table: list[tuple[str, str, float, float, float, float | None, str]] = []

    def measure(name: str, get: Callable[[], httpx.Response], n: int, target: str) -> None:
        cpu = cpu_seconds(process.pid)
        p50, p99, worst = percentiles(timed(get, n))
        per_request = (cpu_seconds(process.pid) - cpu) / n * 1000
        table.append((name, "HTTP", p50, p99, worst, per_request, target))

    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for endpoint in COMPATIBLE + EXTENDED:

                def get(endpoint: str = endpoint) -> httpx.Response:
                    return client.get(f"/api/packages/{pick()}/{endpoint}")

                timed(get, 20)
                target = "p99 <= 10 ms" if endpoint in COMPATIBLE else "-"
                measure(f"GET /api/packages/{{p}}/{endpoint}", get, args.requests, target)
            big = names[:50]
            client.get(f"/api/packages/{names[-1]}/chart/overall?nocache=1")  # loads matplotlib

            def uncached() -> httpx.Response:
                return client.get(f"/api/packages/{rng.choice(big)}/chart/python_minor?nocache=1")

            measure("PNG chart, uncached (nocache=1)", uncached, 40, "<= 150 ms")
            client.get(f"/api/packages/{big[0]}/chart/python_minor")

            def cached() -> httpx.Response:
                return client.get(f"/api/packages/{big[0]}/chart/python_minor")

            measure("PNG chart, cached", cached, args.requests, "<= 5 ms")
    finally:
        process.terminate()
        process.wait(10)

    start = (LATEST - dt.timedelta(days=179)).isoformat()
    series = ("SELECT category, date, sum(downloads) FROM downloads_daily {hint} "
              "WHERE package = ? AND breakdown = 'python_minor' AND date BETWEEN ? AND ? "
              "GROUP BY category, date")  # fmt: skip
    params = [(rng.choice(names[:BIG_PACKAGES]), start, LATEST.isoformat()) for _ in range(200)]
    p50, p99, worst = percentiles(sql_timed(conn, series.format(hint=""), params))
    table.append(("python_minor series SQL, primary-key range", "SQL", p50, p99, worst, None, "-"))
    p50, p99, worst = percentiles(sql_timed(conn, series.format(hint="NOT INDEXED"), params[:3]))
    table.append(("naive: same query, table scan (NOT INDEXED)", "SQL", p50, p99, worst, None, "-"))
    recent = ("SELECT sum(last_day), sum(last_week), sum(last_month) FROM downloads_recent "
              "WHERE package = ?")  # fmt: skip
    p50, p99, worst = percentiles(sql_timed(conn, recent, [(p[0],) for p in params]))
    table.append(("recent, materialised table", "SQL", p50, p99, worst, None, "-"))
    scan = ("SELECT sum(CASE WHEN date = ?2 THEN downloads END), "
            "sum(CASE WHEN date > date(?2, '-7 days') THEN downloads END), sum(downloads) "
            "FROM downloads_daily WHERE package = ?1 AND breakdown = 'overall' "
            "AND category = 'without_mirrors' AND date > date(?2, '-30 days')")  # fmt: skip
    latest = LATEST.isoformat()
    p50, p99, worst = percentiles(sql_timed(conn, scan, [(p[0], latest) for p in params]))
    table.append(("naive: recent summed from daily rows", "SQL", p50, p99, worst, None, "-"))
    conn.close()

    print("| measurement | via | p50 ms | p99 ms | max ms | server CPU ms/req | target |")
    print("|---|---|---:|---:|---:|---:|---|")
    for name, via, p50, p99, worst, cpu, target in table:
        cpu_text = f"{cpu:.2f}" if cpu is not None else "-"
        print(f"| {name} | {via} | {p50:.2f} | {p99:.2f} | {worst:.2f} | {cpu_text} | {target} |")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{args.packages:,} packages x {args.days} days, {rows:,} rows; database {path}")
    print(f"load average at the end (1/5/15 min, 2 cores): {load}")


if __name__ == "__main__":
    main()
