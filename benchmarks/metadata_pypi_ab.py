"""PyPI pull-through miss overhead of this checkout against another source tree, paired.

The machine's speed drifts by more than the changes being measured (the same code measured
minutes apart differs by 2 ms), so one run serves both: two one-worker servers, this
checkout's and one started with ``PYTHONPATH=OLD_SRC``, over fresh SQLite databases and one
fake pypi.org, take turns (which goes first alternates) on misses of 500-release documents.
Each miss is paired with the upstream's own answer taken just before it, and the two
versions' overheads are compared miss by miss.

    git archive REV src | tar -x -C /tmp/old
    .venv/bin/python benchmarks/metadata_pypi_ab.py --old /tmp/old/src [--misses 150] [--pace 2]
        [--gzip] [--latency 20] [--case json|never-seen|imported]

``--pace MS`` has the upstream send its body in 64 KiB pieces MS apart, as a real link does
(loopback hands a whole body over at once, which leaves nothing to do while it arrives).
``--gzip`` has the client accept gzip, as pip and npm do (a miss is answered as is, and its
gzip made after the answer). ``--latency MS`` has the upstream wait that long before each
answer. ``--case``: the JSON API's miss (the default), or a PEP 691 Simple page, against the
upstream's own page: a never-seen project's, or the first of a project imported just before
(``pkgdex metadata import``, its files' core metadata unknown); the fake hands over stored
bytes then, as ``metadata_simple_miss.py`` explains.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import orjson

from measure import paired_overhead, percentiles, pull_through_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.fake_pypi import FakePyPI, Project, big_project, fresh_major
from support.server import ServerProcess, running_server

VERSIONS = ("new", "old")
PIECE = 64 * 1024  # --pace's piece: what one read of the socket takes at most


CASES = ("json", "never-seen", "imported")
V1_JSON = "application/vnd.pypi.simple.v1+json"


def run(
    old_src: Path,
    misses: int,
    pace: tuple[int, float] | None,
    encoding: str = "identity",
    case: str = "json",
    latency: float = 0.0,
) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp, FakePyPI() as fake, ExitStack() as stack:
        fake.pace, fake.delay = pace, latency / 1000
        projects = [
            big_project(f"ab-miss-{i}", first_major=fresh_major(i))  # versions unseen
            for i in range(misses)
        ]
        for project in projects:
            fake.add(project)
        path, accept = ("/pypi/{}/json", None) if case == "json" else ("/simple/{}/", V1_JSON)
        if case != "json":
            fake.stored_answers = True
            for project in projects:
                fake.answer(f"/simple/{project.name}/")
                fake.answer(f"/pypi/{project.name}/json")
        servers: dict[str, ServerProcess] = {}
        for version, pythonpath in zip(VERSIONS, ("", str(old_src)), strict=True):
            upstream = {"PKGDEX_PYPI_UPSTREAM": fake.url, "PYTHONPATH": pythonpath}
            database = Path(tmp) / f"{version}.db"
            settings = pull_through_settings(database, upstream)
            if case == "imported":
                imported(database, projects, pythonpath)
            servers[version] = stack.enter_context(running_server(settings, log_dir=Path(tmp)))
        client = stack.enter_context(httpx.Client())
        results: dict[str, list[float]] = {version: [] for version in VERSIONS}
        for i, project in enumerate(projects):
            for version in VERSIONS if i % 2 == 0 else VERSIONS[::-1]:
                url, asked = servers[version].url, path.format(project.name)
                overhead = paired_overhead(client, fake.url, url, asked, encoding, accept)
                results[version].append(overhead)
                time.sleep(0.2)  # let the store behind the answer finish
        return results


def imported(database: Path, projects: list[Project], pythonpath: str) -> None:
    """Store ``projects`` with ``pkgdex metadata import``, as that version stores them."""
    path = database.with_suffix(".jsonl")
    path.write_bytes(b"\n".join(orjson.dumps(p.doc()) for p in projects))
    env = {**os.environ, "PKGDEX_DATABASE_URL": f"sqlite:///{database}"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    command = [sys.executable, "-m", "pkgdex", "metadata", "import", str(path)]
    subprocess.run(command, env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--old", type=Path, required=True, help="the other version's src/")
    parser.add_argument("--misses", type=int, default=150, help="misses per version")
    parser.add_argument(
        "--pace",
        type=float,
        metavar="MS",
        help="the upstream sends 64 KiB pieces this many ms apart (default: all at once)",
    )
    parser.add_argument("--gzip", action="store_true", help="the client accepts gzip")
    parser.add_argument("--latency", type=float, default=0.0, help="ms before each answer")
    parser.add_argument("--case", choices=CASES, default="json")
    args = parser.parse_args()
    pace = None if args.pace is None else (PIECE, args.pace / 1000)
    encoding = "gzip" if args.gzip else "identity"
    results = run(args.old, args.misses, pace, encoding, args.case, args.latency)
    half = args.misses // 2
    what = f"{args.case} overhead, 500 releases (ms)"
    print(f"| {what} | p50 | p99 | first half p50 | second half p50 |")
    print("|---|---:|---:|---:|---:|")
    for version, samples in results.items():
        p50, p99 = percentiles(samples)
        first, _ = percentiles(samples[:half])
        second, _ = percentiles(samples[half:])
        print(f"| {version} | {p50:.2f} | {p99:.2f} | {first:.2f} | {second:.2f} |")
    paired = [new - old for new, old in zip(results["new"], results["old"], strict=True)]
    p50, _ = percentiles(paired)
    print(f"| new minus old, miss by miss | {p50:.2f} | - | - | - |")


if __name__ == "__main__":
    main()
