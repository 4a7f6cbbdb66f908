"""Name index search, browse and ping through HTTP against a real uvicorn server.

    .venv/bin/python benchmarks/index_search.py [--db DIR_OR_FILE] [--postgres URL] [--rounds 5]
        [--postgres-only]

The index holds the synthetic x4 listing of benchmarks/index_load.py (about 4.5 M names) in the
npm ecosystem; ``--db`` reuses a database that index_load.py kept. One keep-alive client at a
time, a mixed query set (exact popular names, prefixes, 2-character queries, common and rare
substrings, a fixed set of known-hard substrings, no match), limit 250. Two clients take turns,
round by round: httpx (what most callers use; it costs a few hundred microseconds of CPU per
request on the same cores as the server) and a lean one (``http.client``), so the server's own
share shows. Each client's HTTP floor is its ``GET /npm/ping`` in the same run, and the
server's CPU time per request (from /proc, which waiting for a CPU does not inflate) is printed
beside. The naive baseline runs the original's three LIKE queries (exact, 'q%', '%q%', each
ORDER BY name) on the same SQLite table, in-process (which spares it the HTTP overhead pkgdex
pays). Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx

from measure import cpu_seconds, percentile, ping_worker
from pkgdex import db
from pkgdex.index.jobs import load_index

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from index_load import write_synthetic
from support.server import ServerProcess, running_server

POPULAR = ["react", "lodash", "express", "typescript", "requests", "numpy", "django", "boto3"]
POPULAR += ["axios", "chalk", "pandas", "flask", "webpack", "vue", "pytest", "setuptools"]
PREFIXES = ["reac", "lod", "expr", "types", "requ", "nump", "djang", "boto", "@types/", "pyt"]
PREFIXES += ["vue-", "eslint-plugin-", "flask-", "django-rest", "azure-", "@babel/"]
TWO = ["re", "py", "js", "io", "ng", "zx", "qj", "xq", "vw", "kz", "jq", "-q", "@a", "9z"]
COMMON = ["json", "test", "util", "plugin", "config", "client", "data", "api", "react", "core"]
# Substrings whose matches crowd a few id buckets or whose trigrams are common (the odoo-addon-*
# and *-core-* families): the slowest for PostgreSQL's bucket walks, fixed so every run has them.
HARD = ["o-addon", "o-add", "n-core-ng", "tent-lite", "next-core", "-aws-co", "pm-lite", "ypes/st"]
NAIVE_PER_KIND = 4
NO_MATCH = ["qqzzxxvv", "zzqqjjxx", "xqxqxqxq", "kkjjqqzz", "vvvvqqqq", "jxjxjxjx"]
CLIENTS = ("httpx", "http.client")
SLOWEST = 5

Params = dict[str, str | int]
Get = Callable[[str, Params], bytes]  # GET path?params on a keep-alive connection: the body
Times = dict[str, list[float]]


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
        "known-hard substring": HARD,
        "no match": NO_MATCH,
    }


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


@contextmanager
def httpx_get(url: str) -> Iterator[Get]:
    with httpx.Client(base_url=url, timeout=30) as client:

        def get(path: str, params: Params) -> bytes:
            response = client.get(path, params=params)
            response.raise_for_status()
            return response.content

        yield get


@contextmanager
def lean_get(url: str) -> Iterator[Get]:
    """One keep-alive ``http.client`` connection: a fraction of httpx's client-side CPU."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)

    def get(path: str, params: Params) -> bytes:
        conn.request("GET", f"{path}?{urlencode(params)}" if params else path)
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{path} {params}: HTTP {response.status}")
        return body

    try:
        yield get
    finally:
        conn.close()


@contextmanager
def both_clients(url: str) -> Iterator[dict[str, Get]]:
    with ExitStack() as stack:
        yield {
            "httpx": stack.enter_context(httpx_get(url)),
            "http.client": stack.enter_context(lean_get(url)),
        }


def http_search(
    gets: dict[str, Get], queries: dict[str, list[str]], rounds: int
) -> tuple[dict[str, Times], Times]:
    """Per client, per kind of query: milliseconds; and per query, both clients together. The
    clients take turns query by query, so both see the same caches and the same neighbours on
    the machine (and neither connection sits idle long enough for the server to close it)."""
    times: dict[str, Times] = {name: {kind: [] for kind in queries} for name in gets}
    per_query: Times = {}
    for _ in range(rounds):
        for kind, qs in queries.items():
            for q in qs:
                params: Params = {"q": q, "limit": 250}
                for name, get in gets.items():
                    took = timed(partial(get, "/npm/search", params))
                    times[name][kind].append(took)
                    per_query.setdefault(f"{kind}: {q}", []).append(took)
    return times, per_query


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


def get_times(gets: dict[str, Get], path: str, params: Params, count: int = 300) -> Times:
    """``count`` calls of one URL per client, the clients taking turns call by call."""
    times: Times = {name: [] for name in gets}
    for _ in range(count):
        for name, get in gets.items():
            times[name].append(timed(partial(get, path, params)))
    return times


def browse_times(gets: dict[str, Get], page: int) -> Times:
    return get_times(gets, "/npm/browse", {"page": page, "limit": 200})


@dataclass
class HttpRun:
    """What one server answered: per client, search times by kind, browse and ping times."""

    search: dict[str, Times]
    per_query: Times  # search times per query, both clients
    browse_first: Times
    browse_far: Times
    floor: Times
    search_cpu_ms: float  # server CPU per search request, both clients together
    browse_cpu_ms: float


def measure_server(server: ServerProcess, queries: dict[str, list[str]], rounds: int) -> HttpRun:
    pid = server.process.pid
    with both_clients(server.url) as gets:
        for get in gets.values():  # warm-up, as a running server would be
            for q in (q for qs in queries.values() for q in qs):
                get("/npm/search", {"q": q, "limit": 250})
            get("/npm/browse", {"page": 1, "limit": 200})
        before = cpu_seconds(pid)
        search, per_query = http_search(gets, queries, rounds)
        middle = cpu_seconds(pid)
        first, far = browse_times(gets, 1), browse_times(gets, 10_000)
        after = cpu_seconds(pid)
        floor = get_times(gets, "/npm/ping", {})
    searches = sum(len(t) for per_kind in search.values() for t in per_kind.values())
    browses = sum(map(len, first.values())) + sum(map(len, far.values()))
    return HttpRun(
        search,
        per_query,
        first,
        far,
        floor,
        (middle - before) * 1000 / searches,
        (after - middle) * 1000 / browses,
    )


def print_http(run: HttpRun, label: str, naive: Times | None) -> None:
    print("\n".join(table_for(f"{label}, through HTTP", run.search, naive)))
    slowest = sorted(run.per_query.items(), key=lambda item: -statistics.median(item[1]))
    print(f"\nSlowest queries, {label} (median over rounds and clients, ms; they set the p99):")
    for query, values in slowest[:SLOWEST]:
        print(f"- {query}: {statistics.median(values):.2f} (max {max(values):.2f})")
    print(f"\n| browse (limit 200), {label} | client | p50 ms | p99 ms |\n|---|---|---:|---:|")
    for page, per_client in (("page 1", run.browse_first), ("page 10,000", run.browse_far)):
        for name, values in per_client.items():
            p50, p99 = statistics.median(values), percentile(values, 99)
            print(f"| {page} | {name} | {p50:.2f} | {p99:.2f} |")
    print("\nHTTP floor, same run (GET /npm/ping, same client):")
    for name, values in run.floor.items():
        print(
            f"- {name}: p50 {statistics.median(values):.2f} ms, p99 {percentile(values, 99):.2f} ms"
        )
    print(
        f"\nServer CPU per request (uvicorn process, /proc): search {run.search_cpu_ms:.2f} ms, "
        f"browse {run.browse_cpu_ms:.2f} ms"
    )


def ping_rate(url: str, seconds: float = 5.0, connections: int = 8) -> float:
    port = int(url.rsplit(":", 1)[1])

    async def run() -> int:
        deadline = time.perf_counter() + seconds
        return sum(await asyncio.gather(*(ping_worker(port, deadline) for _ in range(connections))))

    return asyncio.run(run()) / seconds


def ensure_database(args: argparse.Namespace) -> Path:
    if args.db and args.db.is_file():
        db.upgrade(f"sqlite:///{args.db}")  # a file kept by an older version: as `serve` would
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


def table_for(label: str, ours: dict[str, Times], naive: Times | None) -> list[str]:
    """p50/p99 per kind of query and per client; the speed-up is over httpx's p50."""
    columns = " | ".join(f"{name} p50 ms | {name} p99 ms" for name in ours)
    rows = [
        f"| {label} | {columns} | naive p50 ms | speed-up at p50 |",
        "|---|" + "---:|" * (2 * len(ours) + 2),
    ]
    for kind in [*next(iter(ours.values())), "all", ALL_BUT_HARD]:
        cells = []
        for per_kind in ours.values():
            mine = pooled(per_kind, kind)
            cells.append(f"{statistics.median(mine):.2f} | {percentile(mine, 99):.2f}")
        speed_up = "- | -"
        if naive is not None:
            base_p50 = statistics.median(pooled(naive, kind))
            httpx_p50 = statistics.median(pooled(ours[CLIENTS[0]], kind))
            speed_up = f"{base_p50:,.0f} | {base_p50 / httpx_p50:,.0f}x"
        rows.append(f"| {kind} | {' | '.join(cells)} | {speed_up} |")
    return rows


# Comparable with runs from before the known-hard set was added.
ALL_BUT_HARD = "all but known-hard"


def pooled(times: Times, kind: str) -> list[float]:
    if kind in ("all", ALL_BUT_HARD):
        skip = "known-hard substring" if kind == ALL_BUT_HARD else None
        return [t for name, values in times.items() if name != skip for t in values]
    return times[kind]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, help="SQLite file, or directory of index_load.py --keep")
    parser.add_argument(
        "--postgres", help="also measure on this PostgreSQL URL (loads it if empty)"
    )
    parser.add_argument(
        "--postgres-only", action="store_true", help="with --postgres: skip the SQLite server"
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    path = ensure_database(args)
    with sqlite3.connect(path) as conn:
        total = conn.execute("SELECT total FROM index_state WHERE ecosystem = 'npm'").fetchone()[0]
        queries = query_set(conn)
    count = sum(map(len, queries.values()))
    print(f"\n{total:,} names (npm ecosystem), {args.rounds} rounds of {count} queries per client")
    if not (args.postgres and args.postgres_only):
        sqlite_run(path, queries, args.rounds)
    if args.postgres:
        postgres(args.postgres, path, queries, args.rounds)


def sqlite_run(path: Path, queries: dict[str, list[str]], rounds: int) -> None:
    env = {
        "PKGDEX_DATABASE_URL": f"sqlite:///{path}",
        "PKGDEX_RATE_LIMITS": "off",
        "PKGDEX_OFFLINE": "1",
    }
    with running_server(env) as server:
        run = measure_server(server, queries, rounds)
        pings = ping_rate(server.url)
    naive = naive_search(path, queries)
    print_load()
    print_http(run, "SQLite", naive)
    print(f"\n/pypi/ping, one worker, 8 keep-alive connections: {pings:,.0f} requests/s")


def postgres(url: str, sqlite_path: Path, queries: dict[str, list[str]], rounds: int) -> None:
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as conn:
        from pkgdex.index.queries import index_status

        if not index_status(conn, "npm").loaded:
            source = sqlite_path.parent / "synthetic-x4.tsv.gz"
            load_index(engine, "npm", str(write_synthetic(source, 4)))
    engine.dispose()
    env = {"PKGDEX_DATABASE_URL": url, "PKGDEX_RATE_LIMITS": "off", "PKGDEX_OFFLINE": "1"}
    with running_server(env) as server:
        run = measure_server(server, queries, rounds)
    print()
    print_load()
    print_http(run, "PostgreSQL", None)


def print_load() -> None:
    figures = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Load average (1, 5, 15 min) at the end: {figures}\n")


if __name__ == "__main__":
    main()
