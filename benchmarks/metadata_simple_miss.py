"""What a Simple API page costs when pkgdex has to ask the upstream for it, through real HTTP
against a live one-worker server over a fresh SQLite database and a fake pypi.org on loopback.

Since the Simple page passes on PEP 658/714 core metadata, which only the upstream's own PEP 691
page has, a page can cost two upstream requests. Two cases, each as the p50 of paired
differences against the upstream's own answers for the same project just before:
- a page for a project pkgdex has never seen, which pkgdex answers from the upstream's PEP 691
  page alone, asking for the JSON document behind the answer (earlier code asked for both at
  once and answered once both were in): against the PEP 691 page alone, which is the target's
  baseline now, and, for comparison with earlier rounds, against the two documents one after
  the other and the two asked at once;
- the first page of a project stored without its core metadata (``pkgdex metadata import``
  here): the PEP 691 page only, which pkgdex answers as it is when it has the stored serial
  (earlier code read the stored files while it came, and filled them in).
For scale: the first page of a project pulled through the JSON API earlier (which learnt the
core metadata behind its answer: no upstream request), and a page once known (from memory).
Run it with ``PYTHONPATH=<older src>`` for the code before a change, in the same hour.

    .venv/bin/python benchmarks/metadata_simple_miss.py [--misses 40] [--releases 500]
        [--latency 0] [--idle 0.2]

The fake upstream hands over each document as stored bytes, made once before the timings
(as a registry's CDN does): made anew for each request, in the benchmark's own process, a
500-release document cost the fake more than pkgdex's whole miss, and two at once slowed each
other under its one interpreter lock. ``--latency`` has it wait that long before each answer,
as a registry across a network does. ``--idle`` is the pause after each miss (0.2 s, so each
miss finds the store behind the one before done); at 0 the misses come back to back, as an
installer resolving a fresh environment asks, and each finds the one before still storing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from measure import percentiles, pull_through_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pkgdex.db import make_engine
from support.fake_pypi import FakePyPI, Project, big_project, fresh_major
from support.imports import import_projects
from support.server import running_server

V1_JSON = {"Accept": "application/vnd.pypi.simple.v1+json", "Accept-Encoding": "identity"}
IDLE = 0.2  # between misses by default, for the store behind each, as metadata_pypi.py leaves
Row = tuple[str, str, str]


def get_ms(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    response = client.get(url, headers=headers or {"Accept-Encoding": "identity"})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url}: {response.status_code}")
    return elapsed


def paired(
    misses: int, upstream: Callable[[int], float], pkgdex: Callable[[int], float], idle: float
) -> tuple[float, float, float]:
    """p50 of the upstream alone, of pkgdex, and of their paired differences."""
    ups, ours = [], []
    for i in range(misses):
        ups.append(upstream(i))
        ours.append(pkgdex(i))
        time.sleep(idle)
    diffs = [o - u for u, o in zip(ups, ours, strict=True)]
    return percentiles(ups)[0], percentiles(ours)[0], percentiles(diffs)[0]


def paired_against(
    misses: int,
    baselines: list[Callable[[int], float]],
    pkgdex: Callable[[int], float],
    idle: float,
) -> tuple[list[float], float, list[float]]:
    """p50 of each baseline, of pkgdex, and of pkgdex's paired differences against each."""
    timed: list[list[float]] = [[] for _ in baselines]
    ours = []
    for i in range(misses):
        for times, baseline in zip(timed, baselines, strict=True):
            times.append(baseline(i))
        ours.append(pkgdex(i))
        time.sleep(idle)
    overs = [percentiles([o - u for u, o in zip(times, ours, strict=True)])[0] for times in timed]
    return [percentiles(times)[0] for times in timed], percentiles(ours)[0], overs


def imported(database: Path, projects: list[Project]) -> None:
    """Store ``projects`` as ``pkgdex metadata import`` does: core metadata unknown."""
    engine = make_engine(f"sqlite:///{database}")
    try:
        import_projects(engine, projects, database.parent)
    finally:
        engine.dispose()


def run(misses: int, releases: int, latency: float, idle: float = IDLE) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp, FakePyPI([]) as fake:
        fake.delay = latency / 1000
        made: dict[str, list[Project]] = {}
        for nth, prefix in enumerate(("never-seen", "imported", "json-first")):
            made[prefix] = [
                big_project(f"{prefix}-{i}", releases, first_major=fresh_major(nth * misses + i))
                for i in range(misses)
            ]
            for project in made[prefix]:
                fake.add(project)
        fake.stored_answers = True  # stored bytes, as a registry's CDN hands them over
        for project in (p for projects in made.values() for p in projects):
            fake.answer(f"/simple/{project.name}/")
            fake.answer(f"/pypi/{project.name}/json")
        database = Path(tmp) / "bench.db"
        settings = pull_through_settings(database, {"PKGDEX_PYPI_UPSTREAM": fake.url})
        imported(database, made["imported"])
        with (
            running_server(settings, log_dir=Path(tmp)) as server,
            httpx.Client() as client,
            httpx.Client() as other,  # the second of two requests at once
            ThreadPoolExecutor(1) as pool,
        ):
            base, up = server.url, fake.url

            def both_upstream(prefix: str) -> Callable[[int], float]:
                return lambda i: (
                    get_ms(client, f"{up}/pypi/{prefix}-{i}/json")
                    + get_ms(client, f"{up}/simple/{prefix}-{i}/", V1_JSON)
                )

            def both_at_once(prefix: str) -> Callable[[int], float]:
                def ask(i: int) -> float:
                    started = time.perf_counter()
                    listing = pool.submit(get_ms, other, f"{up}/simple/{prefix}-{i}/", V1_JSON)
                    get_ms(client, f"{up}/pypi/{prefix}-{i}/json")
                    listing.result()
                    return (time.perf_counter() - started) * 1000

                return ask

            def page(prefix: str) -> Callable[[int], float]:
                return lambda i: get_ms(client, f"{base}/simple/{prefix}-{i}/", V1_JSON)

            def simple_only(prefix: str) -> Callable[[int], float]:
                return lambda i: get_ms(client, f"{up}/simple/{prefix}-{i}/", V1_JSON)

            baselines = [
                simple_only("never-seen"),
                both_upstream("never-seen"),
                both_at_once("never-seen"),
            ]
            ups, ours, overs = paired_against(misses, baselines, page("never-seen"), idle)
            stored = paired(misses, simple_only("imported"), page("imported"), idle)
            for i in range(misses):
                get_ms(client, f"{base}/pypi/json-first-{i}/json")
            time.sleep(1.0)
            json_first = percentiles([page("json-first")(i) for i in range(misses)])[0]
            cached = percentiles([page("imported")(i % misses) for i in range(200)])[0]
            # Less this script's own requests for each (its upstream-alone timings).
            asked = {p: fake.count(f"/simple/{p}-0/") for p in made}
    what = f"{releases} releases"
    return [
        (f"never-seen project's page, {what}: upstream PEP 691 page alone", f"{ups[0]:.2f}", ""),
        ("same: upstream JSON + PEP 691 page, one after the other", f"{ups[1]:.2f}", ""),
        ("same: the two asked at once", f"{ups[2]:.2f}", ""),
        (
            "same: pkgdex's page / **overhead (paired p50) over the PEP 691 page alone**",
            f"{ours:.2f}",
            f"{overs[0]:.2f}",
        ),
        ("same: overhead (paired p50) over the two one after the other", "", f"{overs[1]:.2f}"),
        ("same: **overhead (paired p50) over the two asked at once**", "", f"{overs[2]:.2f}"),
        (f"imported project's first page, {what}: upstream PEP 691 page", f"{stored[0]:.2f}", ""),
        ("same: pkgdex's page / **overhead (paired p50)**", f"{stored[1]:.2f}", f"{stored[2]:.2f}"),
        ("first page of a project pulled through the JSON API before", f"{json_first:.2f}", ""),
        ("the page once known (from memory)", f"{cached:.2f}", ""),
        (
            "PEP 691 pages pkgdex asked for: never-seen, imported, JSON API first",
            f"{asked['never-seen'] - 3}, {asked['imported'] - 1}, {asked['json-first']}",
            "",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--misses", type=int, default=40)
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="ms the upstream waits before each answer"
    )
    parser.add_argument(
        "--idle",
        type=float,
        default=IDLE,
        help="seconds between misses (0: back to back, each miss's store behind the next)",
    )
    args = parser.parse_args()
    print("| case | p50 ms | overhead ms |")
    print("|---|---:|---:|")
    for row in run(args.misses, args.releases, args.latency, args.idle):
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
