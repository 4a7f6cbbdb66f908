"""Name index search, browse and ping through HTTP against a real uvicorn server.

    .venv/bin/python benchmarks/index_search.py [--db DIR_OR_FILE] [--postgres URL] [--rounds 5]

The index holds the synthetic x4 listing of benchmarks/index_load.py (about 4.5 M names) in
the npm ecosystem; ``--db`` reuses a database that index_load.py kept. One client, keep-alive,
a mixed query set (exact popular names, prefixes, 2-character queries, common and rare
substrings, no match), limit 250. The naive baseline runs the original's three LIKE queries
(exact, 'q%', '%q%', each ORDER BY name) on the same SQLite table, in-process (which spares it
the HTTP overhead pkgdex pays). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from measure import ping_worker
from pkgdex import db
from pkgdex.index.jobs import load_index

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from index_load import write_synthetic
from support.server import running_server

POPULAR = ["react", "lodash", "express", "typescript", "requests", "numpy", "django", "boto3"]
POPULAR += ["axios", "chalk", "pandas", "flask", "webpack", "vue", "pytest", "setuptools"]
PREFIXES = ["reac", "lod", "expr", "types", "requ", "nump", "djang", "boto", "@types/", "pyt"]
PREFIXES += ["vue-", "eslint-plugin-", "flask-", "django-rest", "azure-", "@babel/"]
TWO = ["re", "py", "js", "io", "ng", "zx", "qj", "xq", "vw", "kz", "jq", "-q", "@a", "9z"]
COMMON = ["json", "test", "util", "plugin", "config", "client", "data", "api", "react", "core"]
NAIVE_PER_KIND = 4
NO_MATCH = ["qqzzxxvv", "zzqqjjxx", "xqxqxqxq", "kkjjqqzz", "vvvvqqqq", "jxjxjxjx"]


def query_set(conn: sqlite3.Connection, seed: int = 7) -> dict[str, list[str]]:
    """The mixed queries; rare substrings are cut from randomly chosen real names."""
    rng = random.Random(seed)
    top = conn.execute("SELECT max(id) FROM index_entries").fetchone()[0]
    rare: list[str] = []
    while len(rare) < 16:
        row = conn.execute("SELECT key FROM index_entries WHERE id = ?", (rng.randint(1, top),))
        found = row.fetchone()
        if found and len(found[0]) >= 10:
            start = rng.randint(0, len(found[0]) - 7)
            rare.append(found[0][start : start + 7])
    return {
        "exact popular": POPULAR,
        "prefix": PREFIXES,
        "2 characters": TWO,
        "common substring": COMMON,
        "rare substring": rare,
        "no match": NO_MATCH,
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def http_search(url: str, queries: dict[str, list[str]], rounds: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {kind: [] for kind in queries}
    with httpx.Client(base_url=url, timeout=30) as client:
        for qs in queries.values():  # warm-up, as a running server would be
            for q in qs:
                client.get("/npm/search", params={"q": q, "limit": 250}).raise_for_status()
        for _ in range(rounds):
            for kind, qs in queries.items():
                for q in qs:
                    times[kind].append(
                        timed(lambda q=q: client.get("/npm/search", params={"q": q, "limit": 250}))
                    )
    return times


def naive_search(path: Path, queries: dict[str, list[str]]) -> dict[str, list[float]]:
    conn = sqlite3.connect(path)
    gen = conn.execute("SELECT gen FROM index_state WHERE ecosystem = 'npm'").fetchone()[0]
    where = "FROM index_entries WHERE ecosystem = 'npm' AND gen = ? AND "
    exact = f"SELECT no, name, version {where} lower(name) = lower(?) ORDER BY name"
    rest = "ORDER BY name LIMIT 250"
    prefix = f"SELECT no, name, version {where} name LIKE ? AND lower(name) != lower(?) {rest}"
    contains = f"SELECT no, name, version {where} name LIKE ? AND name NOT LIKE ? {rest}"
    times: dict[str, list[float]] = {kind: [] for kind in queries}
    for kind, qs in queries.items():
        for q in qs[:NAIVE_PER_KIND]:  # each takes seconds: a sample per kind is enough

            def three(q: str = q) -> None:
                conn.execute(exact, (gen, q)).fetchall()
                conn.execute(prefix, (gen, q + "%", q)).fetchall()
                conn.execute(contains, (gen, f"%{q}%", q + "%")).fetchall()

            times[kind].append(timed(three))
    return times


def get_times(url: str, path: str, params: dict[str, int], count: int = 300) -> list[float]:
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get(path, params=params).raise_for_status()
        return [timed(lambda: client.get(path, params=params)) for _ in range(count)]


def browse_times(url: str, page: int) -> list[float]:
    return get_times(url, "/npm/browse", {"page": page, "limit": 200})


def print_floor(values: list[float]) -> None:
    p50, p99 = statistics.median(values), percentile(values, 99)
    print(
        f"\nHTTP floor, same run (GET /npm/ping, same client): p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )


def ping_rate(url: str, seconds: float = 5.0, connections: int = 8) -> float:
    port = int(url.rsplit(":", 1)[1])

    async def run() -> int:
        deadline = time.perf_counter() + seconds
        return sum(
            await asyncio.gather(*(ping_worker(port, deadline) for _ in range(connections)))
        )

    return asyncio.run(run()) / seconds


def ensure_database(args: argparse.Namespace) -> Path:
    if args.db and args.db.is_file():
        return Path(args.db)
    work = args.db or Path(tempfile.mkdtemp(prefix="pkgdex-bench-"))
    path = work / "index-4m.db"
    if not path.exists():
        db.upgrade(f"sqlite:///{path}")
        load_index(
            db.make_engine(f"sqlite:///{path}"),
            "npm",
            str(write_synthetic(work / "synthetic-x4.tsv.gz", 4)),
        )
    return path


def table_for(
    label: str, ours: dict[str, list[float]], naive: dict[str, list[float]] | None
) -> list[str]:
    rows = [
        f"| {label} | p50 ms | p99 ms | naive p50 ms | speed-up at p50 |",
        "|---|---:|---:|---:|---:|",
    ]
    kinds = [*ours, "all"]
    for kind in kinds:
        mine = [t for k in ours for t in ours[k]] if kind == "all" else ours[kind]
        base = None
        if naive is not None:
            base = [t for k in naive for t in naive[k]] if kind == "all" else naive[kind]
        p50 = statistics.median(mine)
        base_p50 = statistics.median(base) if base else None
        rows.append(
            f"| {kind} | {p50:.2f} | {percentile(mine, 99):.2f} | "
            + (f"{base_p50:.1f} | {base_p50 / p50:.0f}x |" if base_p50 else "- | - |")
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, help="SQLite file, or directory of index_load.py --keep")
    parser.add_argument(
        "--postgres", help="also measure on this PostgreSQL URL (loads it if empty)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path = ensure_database(args)
    with sqlite3.connect(path) as conn:
        total = conn.execute("SELECT total FROM index_state WHERE ecosystem = 'npm'").fetchone()[0]
        queries = query_set(conn)
    env = {
        "PKGDEX_DATABASE_URL": f"sqlite:///{path}",
        "PKGDEX_RATE_LIMITS": "off",
        "PKGDEX_OFFLINE": "1",
    }
    with running_server(env) as server:
        ours = http_search(server.url, queries, args.rounds)
        first, far = browse_times(server.url, 1), browse_times(server.url, 10_000)
        pings = ping_rate(server.url)
        floor = get_times(server.url, "/npm/ping", {})
    naive = naive_search(path, queries)
    count = sum(map(len, queries.values()))
    print(f"\n{total:,} names (npm ecosystem), {args.rounds} rounds of {count} queries\n")
    print("\n".join(table_for("SQLite, through HTTP", ours, naive)))
    print("\n| browse (limit 200), SQLite | p50 ms | p99 ms |\n|---|---:|---:|")
    for label, values in (("page 1", first), ("page 10,000", far)):
        print(f"| {label} | {statistics.median(values):.2f} | {percentile(values, 99):.2f} |")
    print(f"\n/pypi/ping, one worker, 8 keep-alive connections: {pings:,.0f} requests/s")
    print_floor(floor)
    if args.postgres:
        postgres(args.postgres, path, queries, args.rounds)


def postgres(url: str, sqlite_path: Path, queries: dict[str, list[str]], rounds: int) -> None:
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        from pkgdex.index.queries import index_status

        if not index_status(conn, "npm").loaded:
            source = sqlite_path.parent / "synthetic-x4.tsv.gz"
            load_index(engine, "npm", str(write_synthetic(source, 4)))
    env = {"PKGDEX_DATABASE_URL": url, "PKGDEX_RATE_LIMITS": "off", "PKGDEX_OFFLINE": "1"}
    with running_server(env) as server:
        ours = http_search(server.url, queries, rounds)
        first, far = browse_times(server.url, 1), browse_times(server.url, 10_000)
        floor = get_times(server.url, "/npm/ping", {})
    print()
    print("\n".join(table_for("PostgreSQL, through HTTP", ours, None)))
    print("\n| browse (limit 200), PostgreSQL | p50 ms | p99 ms |\n|---|---:|---:|")
    for label, values in (("page 1", first), ("page 10,000", far)):
        print(f"| {label} | {statistics.median(values):.2f} | {percentile(values, 99):.2f} |")
    print_floor(floor)


if __name__ == "__main__":
    main()
