"""npm registry read API speed, through real HTTP against a live one-worker server.

Serves a fake npm upstream on loopback (a packument with 500 versions, plus copies for
misses), starts ``uvicorn`` with one worker over a fresh SQLite database, and measures:
cached full and abbreviated packuments (p50/p99, requests/s), ETag revalidation (304), a
version lookup, a pull-through miss against the upstream's own latency for the same document,
and 100 concurrent misses for one name; then ``/-/v1/search`` over the full npm listing of
../shared/data (226,974 names). Baselines in the same run: the upstream itself (no cache), the
per-request work of a naive cache that keeps parsed JSON and re-renders each answer, and a naive
search (one ``LIKE '%q%'`` scan ordered by tier and downloads) on the same database.

    .venv/bin/python benchmarks/npm_registry.py [--requests 1000] [--seconds 5] [--listing PATH]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pkgdex import db
from pkgdex.index.jobs import load_index
from pkgdex.npmregistry.render import abbreviate
from support.fake_npm import CORGI, FakeNpm, serve_fake_npm
from support.server import running_server

MISSES = 60
LISTING = Path(__file__).resolve().parents[1].parent / "shared/data/npm-packages.tsv.gz"
SEARCHES = ["react", "lodash", "webpack-plugin", "@types/node", "left-pad", "zzzzqx"]
NAIVE_SEARCH = (
    "SELECT name FROM index_entries WHERE ecosystem = 'npm' AND key LIKE '%' || ? || '%' "
    "ORDER BY CASE WHEN key = ? THEN 0 WHEN key LIKE ? || '%' THEN 1 ELSE 2 END, "
    "coalesce(popularity, 0) DESC LIMIT 20"
)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def timed(fn: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def throughput(url: str, headers: dict[str, str], seconds: float, threads: int = 8) -> float:
    done = [0] * threads
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        with httpx.Client() as client:
            while time.perf_counter() < deadline:
                if client.get(url, headers=headers).status_code not in (200, 304):
                    raise RuntimeError(f"{url}: unexpected status")
                done[i] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return sum(done) / (time.perf_counter() - started)


def get_ok(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> int:
    response = client.get(url, headers=headers or {})
    if response.status_code not in (200, 304):
        raise RuntimeError(f"{url}: HTTP {response.status_code}")
    return len(response.content)


def add_copies(fake: FakeNpm) -> None:
    template = fake.docs["many-versions"]
    for i in range(MISSES):
        for kind in ("a-miss", "a-direct", "b-miss", "b-direct"):
            fake.add({**template, "name": f"{kind}-{i}", "_id": f"{kind}-{i}"})
    fake.add({**template, "name": "flight", "_id": "flight"})


def naive_render(doc_json: bytes) -> bytes:
    """What a cache that stores parsed JSON does per request: parse, abbreviate, serialise."""
    return orjson.dumps(abbreviate(orjson.loads(doc_json)))


def run(requests: int, seconds: float, listing: Path) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp, serve_fake_npm() as fake:
        add_copies(fake)
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db.upgrade(url)
        settings = {
            "PKGDEX_DATABASE_URL": url,
            "PKGDEX_OFFLINE": "0",
            "PKGDEX_NPM_UPSTREAM": fake.base_url,
            "PKGDEX_RATE_LIMITS": "off",
        }
        with running_server(settings, log_dir=Path(tmp)) as server, httpx.Client() as client:
            base = f"{server.url}/registry/npm"
            size = get_ok(client, f"{base}/many-versions")
            corgi_size = get_ok(client, f"{base}/many-versions", {"Accept": CORGI})
            etag = client.get(f"{base}/many-versions").headers["etag"]
            rows += measure_cached(client, base, etag, requests, seconds, size, corgi_size)
            rows += measure_baselines(client, fake, requests)
            rows += measure_misses(client, base, fake, "a", "empty name index")
            rows += measure_flight(base, fake)
            if listing.exists():
                engine = db.make_engine(url)
                load_index(engine, "npm", str(listing))
                engine.dispose()
                rows += measure_misses(client, base, fake, "b", "full npm name index")
                rows += measure_search(client, base, Path(tmp) / "bench.db", requests)
    return rows


def measure_cached(
    client: httpx.Client, base: str, etag: str, requests: int, seconds: float, size: int,
    corgi_size: int,
) -> list[tuple[str, str, str, str]]:  # fmt: skip
    cases = [
        (f"cached full packument, 500 versions ({size // 1024} KiB)", f"{base}/many-versions", {}),
        (f"cached abbreviated packument ({corgi_size // 1024} KiB)", f"{base}/many-versions",
         {"Accept": CORGI}),
        ("ETag revalidation (304)", f"{base}/many-versions", {"If-None-Match": etag}),
        ("one version (`/many-versions/10.49.0`)", f"{base}/many-versions/10.49.0", {}),
    ]  # fmt: skip
    rows = []
    for label, url, headers in cases:
        p50, p99 = percentiles(timed(lambda u=url, h=headers: get_ok(client, u, h), requests))
        rate = throughput(url, headers, seconds)
        rows.append((label, f"{p50:.2f}", f"{p99:.2f}", f"{rate:,.0f}"))
    return rows


def measure_baselines(
    client: httpx.Client, fake: FakeNpm, requests: int
) -> list[tuple[str, str, str, str]]:
    direct = f"{fake.base_url}/many-versions"
    p50, p99 = percentiles(timed(lambda: get_ok(client, direct), min(requests, 300)))
    doc_json = orjson.dumps(fake.docs["many-versions"])
    n50, n99 = percentiles(timed(lambda: naive_render(doc_json), requests))
    return [
        ("baseline: no cache, the upstream itself", f"{p50:.2f}", f"{p99:.2f}", "-"),
        ("baseline: naive re-render per request (CPU only)", f"{n50:.2f}", f"{n99:.2f}", "-"),
    ]


def measure_misses(
    client: httpx.Client, base: str, fake: FakeNpm, prefix: str, index: str
) -> list[tuple[str, str, str, str]]:
    """Misses for new names (each also joins the name index) against direct upstream GETs."""
    upstream, missed = [], []
    for i in range(MISSES):
        started = time.perf_counter()
        get_ok(client, f"{fake.base_url}/{prefix}-direct-{i}")
        upstream.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        get_ok(client, f"{base}/{prefix}-miss-{i}")
        missed.append((time.perf_counter() - started) * 1000)
    up50, _ = percentiles(upstream)
    miss50, miss99 = percentiles(missed)
    return [
        (f"upstream alone, same document ({index})", f"{up50:.2f}", "-", "-"),
        (f"pull-through miss ({index})", f"{miss50:.2f}", f"{miss99:.2f}", "-"),
        (f"**miss overhead over the upstream, p50 ({index})**", f"{miss50 - up50:.2f}", "-", "-"),
    ]


def measure_flight(base: str, fake: FakeNpm) -> list[tuple[str, str, str, str]]:
    fake.delay = 0.3
    start = threading.Barrier(100)

    def ask(_: int) -> int:
        with httpx.Client(timeout=30) as client:
            start.wait()
            return client.get(f"{base}/flight").status_code

    with ThreadPoolExecutor(100) as pool:
        statuses = list(pool.map(ask, range(100)))
    fake.delay = 0.0
    ok = statuses.count(200)
    return [
        (
            f"100 concurrent misses ({ok} answered 200): upstream requests",
            str(fake.hits("flight")),
            "-",
            "-",
        )
    ]


def measure_search(
    client: httpx.Client, base: str, path: Path, requests: int
) -> list[tuple[str, str, str, str]]:
    count = max(5, requests // 20)
    samples, naive = [], []
    with sqlite3.connect(path) as conn:
        for text in SEARCHES:
            url = f"{base}/-/v1/search?text={text}"
            samples += timed(lambda u=url: get_ok(client, u), count)
            query = lambda t=text: conn.execute(NAIVE_SEARCH, (t, t, t)).fetchall()  # noqa: E731
            naive += timed(query, count)
    p50, p99 = percentiles(samples)
    n50, n99 = percentiles(naive)
    label = f"search, full npm listing ({', '.join(SEARCHES)})"
    return [
        (label, f"{p50:.2f}", f"{p99:.2f}", "-"),
        ("baseline: naive LIKE scan, SQL only (no HTTP)", f"{n50:.2f}", f"{n99:.2f}", "-"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per case")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each rate run")
    parser.add_argument("--listing", type=Path, default=LISTING, help="npm names for search")
    args = parser.parse_args()
    rows = run(args.requests, args.seconds, args.listing)
    print("| case | p50 ms | p99 ms | requests/s (8 clients) |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
