"""npm registry read API speed, through real HTTP against a live one-worker server.

Serves a fake npm upstream on loopback (a packument with 500 versions, plus copies for
misses), starts ``uvicorn`` with one worker over a fresh SQLite database, and measures:
cached full and abbreviated packuments, plain and gzipped (p50/p99, requests/s, server CPU
per request), ETag
revalidation (304), a version lookup, pull-through misses (full and install-v1) against the
upstream's own latency for the same document, and 100 concurrent misses for one name; then
``/-/v1/search`` over the full npm listing of ../shared/data (226,974 names). Baselines in the
same run: the upstream itself (no cache), the per-request work of a naive cache that keeps
parsed JSON and re-renders each answer, and a naive search (one ``LIKE '%q%'`` scan ordered by
tier and downloads) on the same database.

Requests go through the same minimal raw-socket keep-alive client as the PyPI benchmark, so the
figures measure the server rather than the client's own per-request work.

    .venv/bin/python benchmarks/npm_registry.py [--requests 1000] [--seconds 5] [--listing PATH]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from measure import (
    RawClient,
    concurrent_statuses,
    cpu_seconds,
    cpu_since,
    elapsed_ms,
    gzipped_size,
    kib,
    percentiles,
    pull_through_settings,
    thread_cpu,
    throughput,
    timed,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pkgdex import db
from pkgdex.index.jobs import load_index
from pkgdex.npmregistry.render import FULL_TYPE, abbreviate
from support.fake_npm import CORGI, FakeNpm, serve_fake_npm
from support.server import running_server

MISSES = 40
MISS_KINDS = ("a", "b", "c")  # empty index full / full index full / full index install-v1
LISTING = Path(__file__).resolve().parents[1].parent / "shared/data/npm-packages.tsv.gz"
SEARCHES = ["react", "lodash", "webpack-plugin", "@types/node", "left-pad", "zzzzqx"]
# Words more names contain than start with them: their substring matches are ranked too.
SUBSTRING_SEARCHES = ["loader", "plugin", "util"]
NAIVE_SEARCH = (
    "SELECT name FROM index_entries WHERE ecosystem = 'npm' AND key LIKE '%' || ? || '%' "
    "ORDER BY CASE WHEN key = ? THEN 0 WHEN key LIKE ? || '%' THEN 1 ELSE 2 END, "
    "coalesce(popularity, 0) DESC LIMIT 20"
)
PREFIX = "/registry/npm"
Row = tuple[str, ...]


def add_copies(fake: FakeNpm) -> None:
    template = fake.docs["many-versions"]
    for i in range(MISSES):
        for kind in MISS_KINDS:
            for role in ("miss", "direct"):
                name = f"{kind}-{role}-{i}"
                fake.add({**template, "name": name, "_id": name})
    fake.add({**template, "name": "flight", "_id": "flight"})


def naive_render(doc_json: bytes) -> bytes:
    """What a cache that stores parsed JSON does per request: parse, abbreviate, serialise."""
    return orjson.dumps(abbreviate(orjson.loads(doc_json)))


def run(requests: int, seconds: float, listing: Path) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, serve_fake_npm() as fake:
        add_copies(fake)
        upstream = {"PKGDEX_NPM_UPSTREAM": fake.base_url}
        settings = pull_through_settings(Path(tmp) / "bench.db", upstream)
        url = settings["PKGDEX_DATABASE_URL"]
        with running_server(settings, log_dir=Path(tmp)) as server:
            pid = server.process.pid
            rows += measure_misses(server.url, pid, fake, "a", "empty name index", {})
            rows += measure_cached(server.url, pid, requests, seconds)
            rows += measure_baselines(fake, requests)
            rows += measure_flight(server.url, fake)
            if listing.exists():
                engine = db.make_engine(url)
                load_index(engine, "npm", str(listing))
                engine.dispose()
                index = "full npm name index"
                rows += measure_misses(server.url, pid, fake, "b", index, {})
                rows += measure_misses(server.url, pid, fake, "c", f"{index}, install-v1",
                                       {"Accept": CORGI})  # fmt: skip
                for texts in (SEARCHES, SUBSTRING_SEARCHES):
                    rows += measure_search(server.url, Path(tmp) / "bench.db", requests, texts)
    return rows


def measure_cached(base: str, pid: int, requests: int, seconds: float) -> list[Row]:
    path = f"{PREFIX}/many-versions"
    plain, gz = {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}
    with httpx.Client() as client:
        size = len(client.get(base + path, headers=plain).content)
        corgi_size = len(client.get(base + path, headers={"Accept": CORGI, **plain}).content)
        etag = client.get(base + path, headers=plain).headers["etag"]
        # The first answer that could be gzipped goes as it is; its gzip is made after it.
        packed, corgi_packed = (
            gzipped_size(client, base + path, {"Accept": a}) for a in (FULL_TYPE, CORGI)
        )
    cases = [
        (f"cached full packument, 500 versions ({size // 1024} KiB)", path, plain),
        (f"same, gzip ({kib(packed)})", path, gz),
        (f"cached abbreviated packument ({corgi_size // 1024} KiB)", path,
         {"Accept": CORGI, **plain}),
        (f"same, gzip ({kib(corgi_packed)})", path, {"Accept": CORGI, **gz}),
        ("ETag revalidation (304)", path, {"If-None-Match": etag}),
        ("one version (`/many-versions/10.49.0`)", f"{path}/10.49.0", {}),
    ]  # fmt: skip
    rows = []
    for label, case_path, headers in cases:
        raw = RawClient(base)  # a fresh connection: the server closes idle ones after 5 s
        raw.get(case_path, headers)  # warm
        sample = timed(lambda p=case_path, h=headers, c=raw: c.get(p, h), requests)
        raw.close()
        p50, p99 = percentiles(sample)
        cpu = cpu_seconds(pid)
        rate, count = throughput(base, case_path, headers, seconds)
        cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / count
        rows.append((label, f"{p50:.2f}", f"{p99:.2f}", f"{rate:,.0f}", f"{cpu_ms:.2f}"))
    return rows


def measure_baselines(fake: FakeNpm, requests: int) -> list[Row]:
    direct = RawClient(fake.base_url)
    p50, p99 = percentiles(timed(lambda: direct.get("/many-versions", {}), min(requests, 300)))
    direct.close()
    doc_json = orjson.dumps(fake.docs["many-versions"])
    n50, n99 = percentiles(timed(lambda: naive_render(doc_json), requests))
    return [
        ("baseline: no cache, the upstream itself", f"{p50:.2f}", f"{p99:.2f}", "-"),
        ("baseline: naive re-render per request (CPU only)", f"{n50:.2f}", f"{n99:.2f}", "-"),
    ]


def measure_misses(
    base: str, pid: int, fake: FakeNpm, kind: str, what: str, headers: dict[str, str]
) -> list[Row]:
    """Misses for new names (each also joins the name index) against direct upstream GETs of
    the same document, both on one keep-alive connection each."""
    upstream, missed = [], []
    cpu = answer_cpu = 0.0
    direct, client = RawClient(fake.base_url), RawClient(base)
    for i in range(MISSES):
        upstream.append(elapsed_ms(direct, f"/{kind}-direct-{i}", {}))
        before = thread_cpu(pid)
        missed.append(elapsed_ms(client, f"{PREFIX}/{kind}-miss-{i}", headers))
        answer_cpu += cpu_since(before, pid)  # may already include some work after it
        time.sleep(0.2)  # let the store and the name index finish after the answer
        cpu += cpu_since(before, pid)
    direct.close()
    client.close()
    up50, _ = percentiles(upstream)
    miss50, miss99 = percentiles(missed)
    return [
        (f"upstream alone, same document ({what})", f"{up50:.2f}", "-", "-"),
        (f"pull-through miss ({what})", f"{miss50:.2f}", f"{miss99:.2f}", "-",
         f"{cpu * 1000 / MISSES:.2f}"),
        (f"**miss overhead over the upstream, p50 ({what})**", f"{miss50 - up50:.2f}", "-", "-"),
        (f"same miss, server CPU until the answer ({what})", "-", "-", "-",
         f"{answer_cpu * 1000 / MISSES:.2f}"),
    ]  # fmt: skip


def measure_flight(base: str, fake: FakeNpm) -> list[Row]:
    fake.delay = 0.3
    statuses = concurrent_statuses(f"{base}{PREFIX}/flight", 100)
    fake.delay = 0.0
    ok = statuses.count(200)
    hits = fake.hits("flight")
    return [(f"100 concurrent misses ({ok} answered 200): upstream requests", str(hits), "-", "-")]


def measure_search(base: str, path: Path, requests: int, texts: list[str]) -> list[Row]:
    count = max(5, requests // 20)
    samples, naive = [], []
    client = RawClient(base)
    with sqlite3.connect(path) as conn:
        for text in texts:
            url = f"{PREFIX}/-/v1/search?text={text}"
            samples += timed(lambda u=url: client.get(u, {}), count)
            query = lambda t=text: conn.execute(NAIVE_SEARCH, (t, t, t)).fetchall()  # noqa: E731
            naive += timed(query, count)
    client.close()
    p50, p99 = percentiles(samples)
    n50, n99 = percentiles(naive)
    label = f"search, full npm listing ({', '.join(texts)})"
    return [
        (label, f"{p50:.2f}", f"{p99:.2f}", "-"),
        ("baseline: naive LIKE scan, SQL only (no HTTP)", f"{n50:.2f}", f"{n99:.2f}", "-"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per case")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each rate run")
    parser.add_argument("--listing", type=Path, default=LISTING, help="npm names for search")
    args = parser.parse_args()
    rows = run(args.requests, args.seconds, args.listing)
    print("| case | p50 ms | p99 ms | requests/s (8 connections) | server CPU ms/req |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row + ("-",) * (5 - len(row))) + " |")


if __name__ == "__main__":
    main()
