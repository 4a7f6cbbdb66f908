"""PyPI metadata speed, through real HTTP against a live one-worker server.

Serves a fake pypi.org on loopback (``big-project``: 500 releases, 1,000 files; plus copies
for misses), starts ``uvicorn`` with one worker over a fresh SQLite database, and measures: the
cached JSON API document (p50/p99, requests/s), ETag revalidation (304), one release, the
Simple API page in both formats, pull-through misses against the upstream's own latency for
the same document (6, 50, 100, 200 and 500 releases, asking for no compression; the
500-release one also as pip does, accepting gzip, and from an upstream that sends it in paced
pieces, as over a real link), and 100 concurrent misses for one name. Baselines in the same
run: the upstream itself (no cache), and the per-request work of a naive cache that reads the
project from the database and renders it on every request. Last, in this process, the check a
500-release miss makes once its body is in, back to back and after the idle gap the misses
leave between them: the same work is much slower on a CPU that was idle.

    .venv/bin/python benchmarks/metadata_pypi.py [--requests 1000] [--seconds 5]
"""

from __future__ import annotations

import argparse
import gc
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
from pkgdex.metadata import exact, queries, render
from pkgdex.metadata.versions import pick_latest
from support.fake_pypi import FakePyPI, Project, ReleaseSpec, big_project, fresh_major
from support.server import running_server

MISSES = 100  # enough that the median of the paired differences settles
SWEEP = (50, 100, 200)  # release counts between the small and the 500-release misses
PACE = (64 * 1024, 0.002)  # the paced upstream: 64 KiB every 2 ms (about 260 Mbit/s)
V1_JSON = "application/vnd.pypi.simple.v1+json"
CHECKS = 40  # in-process checks per case (each of a document with versions of its own)
IDLE = 0.2  # what the misses leave between them, for the store behind each
Row = tuple[str, ...]


def get_ok(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> int:
    response = client.get(url, headers=headers or {})
    if response.status_code not in (200, 304):
        raise RuntimeError(f"{url}: HTTP {response.status_code}")
    return len(response.content)


def small_project(name: str) -> Project:
    return Project(name, [ReleaseSpec(f"1.{i}.0") for i in range(6)], last_serial=5)


def add_copies(fake: FakePyPI) -> None:
    for i in range(MISSES):
        fake.add(small_project(f"small-miss-{i}"))
        # Each with versions of its own: parsing versions not seen before is part of a miss.
        fake.add(big_project(f"big-miss-{i}", first_major=fresh_major(i)))
        fake.add(big_project(f"gzip-miss-{i}", first_major=fresh_major(MISSES + i)))
        fake.add(big_project(f"paced-miss-{i}", first_major=fresh_major(2 * MISSES + i)))
    for n, count in enumerate(SWEEP):
        for i in range(MISSES):
            nth = (3 + n) * MISSES + i
            fake.add(big_project(f"sweep-{count}-miss-{i}", count, first_major=fresh_major(nth)))
    fake.add(big_project("flight"))


def run(requests: int, seconds: float) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, FakePyPI() as fake:
        add_copies(fake)
        settings = pull_through_settings(Path(tmp) / "bench.db", {"PKGDEX_PYPI_UPSTREAM": fake.url})
        url = settings["PKGDEX_DATABASE_URL"]
        with running_server(settings, log_dir=Path(tmp)) as server, httpx.Client() as client:
            base = server.url
            pid = server.process.pid
            misses = measure_misses(client, base, pid, fake, "small-miss", "6 releases")
            for count in SWEEP:  # where, between 6 and 500 releases, a miss passes 5 ms
                prefix, what = f"sweep-{count}-miss", f"{count} releases"
                misses += measure_misses(client, base, pid, fake, prefix, what)
            misses += measure_misses(client, base, pid, fake, "big-miss", "500 releases")
            # What pip and browsers send: a miss must not wait for its body to be compressed.
            misses += measure_misses(
                client, base, pid, fake, "gzip-miss", "500 releases, client accepts gzip", "gzip"
            )
            # Loopback hands a body over at once; a real link takes round trips to send it.
            fake.pace = PACE
            misses += measure_misses(
                client, base, pid, fake, "paced-miss", "500 releases, upstream paced"
            )
            fake.pace = None
            rows += measure_cached(client, base, pid, requests, seconds)
            rows += measure_baselines(client, fake, url, requests)
            rows += misses
            rows += measure_flight(base, fake)
    return rows + measure_check_warm_and_idle()


def measure_cached(
    client: httpx.Client, base: str, pid: int, requests: int, seconds: float
) -> list[Row]:
    project = "/pypi/big-project/json"
    size = get_ok(client, base + project, {"Accept-Encoding": "identity"})
    # The first request that takes gzip is answered as is, and the gzip made after it.
    packed = gzipped_size(client, base + project, {})
    etag = client.get(base + project, headers={"Accept-Encoding": "identity"}).headers["etag"]
    plain, gz = {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip"}
    cases = [
        (f"cached project JSON, 500 releases ({size // 1024} KiB)", project, plain),
        (f"same, gzip ({kib(packed)})", project, gz),
        ("ETag revalidation (304)", project, {"If-None-Match": etag, **plain}),
        ("one release (`/pypi/big-project/10.0.0/json`)", "/pypi/big-project/10.0.0/json",
         plain),
        ("Simple API page, PEP 691 JSON, gzip", "/simple/big-project/", {"Accept": V1_JSON, **gz}),
        ("Simple API page, HTML, gzip", "/simple/big-project/", gz),
        ("small project JSON (6 releases)", "/pypi/small-miss-0/json", plain),
    ]  # fmt: skip
    rows = []
    for label, path, headers in cases:
        raw = RawClient(base)  # a fresh connection: the server closes idle ones after 5 s
        raw.get(path, headers)  # warm
        p50, p99 = percentiles(timed(lambda p=path, h=headers, c=raw: c.get(p, h), requests))
        raw.close()
        cpu = cpu_seconds(pid)
        rate, count = throughput(base, path, headers, seconds)
        cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / count
        rows.append((label, f"{p50:.2f}", f"{p99:.2f}", f"{rate:,.0f}", f"{cpu_ms:.2f}"))
    return rows


def measure_baselines(client: httpx.Client, fake: FakePyPI, url: str, requests: int) -> list[Row]:
    direct = f"{fake.url}/pypi/big-project/json"
    p50, p99 = percentiles(timed(lambda: get_ok(client, direct), min(requests, 200)))
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            state = queries.project_state(conn, "big-project")
        assert state is not None

        def naive() -> bytes:
            with engine.connect() as conn:
                view = queries.load_project(conn, state)
            release = pick_latest(view.releases)
            assert release is not None
            return render.project_json(view, release).body

        n50, n99 = percentiles(timed(naive, min(requests, 200)))
    finally:
        engine.dispose()
    return [
        ("baseline: no cache, the upstream itself", f"{p50:.2f}", f"{p99:.2f}", "-"),
        ("baseline: naive read + render per request (CPU only)", f"{n50:.2f}", f"{n99:.2f}", "-"),
    ]


def measure_misses(
    client: httpx.Client,
    base: str,
    pid: int,
    fake: FakePyPI,
    prefix: str,
    what: str,
    encoding: str = "identity",
) -> list[Row]:
    upstream, missed, answer_cpu = [], [], []
    cpu = 0.0
    for i in range(MISSES):
        path = f"/pypi/{prefix}-{i}/json"
        started = time.perf_counter()
        get_ok(client, f"{fake.url}{path}")
        upstream.append((time.perf_counter() - started) * 1000)
        before = thread_cpu(pid)
        started = time.perf_counter()
        get_ok(client, f"{base}{path}", {"Accept-Encoding": encoding})
        missed.append((time.perf_counter() - started) * 1000)
        # May already include some work after the answer (its store starts as it goes out).
        answer_cpu.append(cpu_since(before, pid) * 1000)
        time.sleep(IDLE)  # let the name index record the new name after the answer
        cpu += cpu_since(before, pid)
    up50, _ = percentiles(upstream)
    miss50, miss99 = percentiles(missed)
    cpu50, _ = percentiles(answer_cpu)
    # Each miss against the upstream's own answer just before it: a pair shares the machine's
    # state of the moment, so a drift (another process waking) cancels out of the difference.
    paired50, _ = percentiles([m - u for u, m in zip(upstream, missed, strict=True)])
    return [
        (f"upstream alone, {what}", f"{up50:.2f}", "-", "-"),
        (
            f"pull-through miss, {what}",
            f"{miss50:.2f}",
            f"{miss99:.2f}",
            "-",
            f"{cpu * 1000 / MISSES:.2f}",
        ),
        (f"**miss overhead over the upstream, {what} (p50 of paired differences)**",
         f"{paired50:.2f}", "-", "-"),
        (f"miss overhead, {what} (difference of the p50s)", f"{miss50 - up50:.2f}", "-", "-"),
        (f"same miss, server CPU until the answer, {what} (p50)", "-", "-", "-", f"{cpu50:.2f}"),
    ]


def measure_flight(base: str, fake: FakePyPI) -> list[Row]:
    fake.delay = 0.3
    statuses = concurrent_statuses(f"{base}/pypi/flight/json", 100)
    fake.delay = 0.0
    ok = statuses.count(200)
    hits = fake.count("/pypi/flight/json")
    return [(f"100 concurrent misses ({ok} answered 200): upstream requests", str(hits), "-", "-")]


def measure_check_warm_and_idle() -> list[Row]:
    """What a 500-release miss does once its body is in (``exact.read``: decode, check, choose
    the latest), in this process: back to back, and after the idle gap the misses above leave
    between them. The gap shows how much slower the same work runs on a CPU that was idle."""
    rows = []
    for idle in (0.0, IDLE):
        first = 1000 + (0 if idle else CHECKS)  # versions no earlier check has seen
        bodies = [
            orjson.dumps(big_project(f"check-{i}", first_major=fresh_major(first + i)).doc())
            for i in range(CHECKS)
        ]
        samples = []
        gc.disable()  # as the server pauses it for a miss (collector.py)
        try:
            for i, body in enumerate(bodies):
                time.sleep(idle)
                started = time.perf_counter()
                if exact.read(body, f"check-{i}") is None:
                    raise RuntimeError("the benchmark document is not exact")
                samples.append((time.perf_counter() - started) * 1000)
        finally:
            gc.enable()
        p50, p99 = percentiles(samples)
        gap = f"after {idle * 1000:.0f} ms idle" if idle else "back to back"
        rows.append((f"in process: check of a 500-release body, {gap}", f"{p50:.2f}", f"{p99:.2f}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="sequential requests per case")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each rate run")
    args = parser.parse_args()
    rows = run(args.requests, args.seconds)
    print("| case | p50 ms | p99 ms | requests/s (8 connections) | server CPU ms/req |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row + ("-",) * (5 - len(row))) + " |")


if __name__ == "__main__":
    main()
