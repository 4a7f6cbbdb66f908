"""Where a PyPI pull-through miss's time goes: the median time between stages of one miss.

Starts a one-worker server whose ``sitecustomize`` (written to a scratch directory and put on
its ``PYTHONPATH``) wraps the miss path's functions with timestamps, then makes misses, each
after the upstream's own answer for the same document and an idle gap, as
``metadata_pypi.py`` does. Client and server stamp the same monotonic clock
(``time.perf_counter``, CLOCK_MONOTONIC on Linux), so the stages line up across processes.
The wrappers cost a few microseconds a stage; the stages they delimit are hundreds.

    .venv/bin/python benchmarks/metadata_miss_timeline.py [--misses 50] [--releases 500]
        [--pin] [--idle 0.2] [--simple]

``--pin`` puts the server on one CPU and this process (client and fake upstream) on the other,
to see whether sharing a CPU with the upstream's own work matters. ``--simple`` follows a
never-seen project's PEP 691 Simple page instead, which asks the upstream for its JSON
document and its own page at once: the median time of each event since the client sent.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from measure import pull_through_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.fake_pypi import FakePyPI, Project, ReleaseSpec, big_project, fresh_major
from support.server import running_server

V1_JSON = "application/vnd.pypi.simple.v1+json"

# The server side: each wrapped function writes "<time> <stage>>" on entry, "<stage><" on exit.
PROBE = """
import functools, inspect, os, time
from importlib import import_module

_out = open(os.environ["PROBE_LOG"], "a", buffering=1)


def _stamp(what):
    _out.write(f"{time.perf_counter():.6f} {what}\\n")


def _wrap(owner, name, label):
    fn = getattr(owner, name)
    if inspect.iscoroutinefunction(fn):
        async def wrapped(*args, **kwargs):
            _stamp(label + ">")
            try:
                return await fn(*args, **kwargs)
            finally:
                _stamp(label + "<")
    else:
        def wrapped(*args, **kwargs):
            _stamp(label + ">")
            try:
                return fn(*args, **kwargs)
            finally:
                _stamp(label + "<")
    setattr(owner, name, functools.wraps(fn)(wrapped))


for module, owner, name, label in (
    ("pkgdex.metadata.coremetadata", None, "read_page", "page"),
    ("pkgdex.metadata.coremetadata", None, "complete", "complete"),
    ("pkgdex.metadata.coremetadata", None, "_awaited", "await"),
    ("pkgdex.metadata.simple", None, "prepare", "prepare"),
    ("pkgdex.metadata.simple", None, "fill", "fill"),
    ("pkgdex.metadata.simple", None, "page", "whole"),
    ("pkgdex.middleware", "RequestIdMiddleware", "__call__", "asgi"),
    ("pkgdex.metadata.responses", None, "answer", "thread"),
    ("pkgdex.metadata.cache", "PyPICache", "_state", "state"),
    ("pkgdex.metadata.upstream", "Upstream", "_transfer", "transfer"),
    ("httpx", "Client", "send", "headers"),
    ("pkgdex.metadata.upstream", "Upstream", "_read_body", "body"),
    ("pkgdex.metadata.exact", None, "read", "check"),
    ("pkgdex.metadata.exact", None, "project_json", "render"),
):
    loaded = import_module(module)
    _wrap(loaded if owner is None else getattr(loaded, owner), name, label)
"""

# (from, to, what happens between): the stages of one miss, in order.
STAGES = (
    ("sent", "asgi>", "client sends; server wakes, parses, enters the middleware"),
    ("asgi>", "thread>", "middleware, routing, memory lookup, hop to a worker thread"),
    ("thread>", "state>", "name checked, stored state about to be read"),
    ("state>", "state<", "stored state read (the database)"),
    ("state<", "transfer>", "single flight, hop to the transfer thread"),
    ("transfer>", "headers>", "httpx builds the request"),
    ("headers>", "headers<", "upstream answers its headers (its own work)"),
    ("headers<", "body<", "body received, releases checked as they arrive"),
    ("body<", "check>", "back to the answering thread"),
    ("check>", "check<", "the rest of the check, after the last byte"),
    ("check<", "render<", "answer rendered"),
    ("render<", "thread<", "answer's response made"),
    ("thread<", "received", "hop to the event loop, response sent, client has it all"),
)


def project(name: str, releases: int, nth: int) -> Project:
    if releases <= 6:
        return Project(name, [ReleaseSpec(f"1.{j}.0") for j in range(releases)], last_serial=5)
    return big_project(name, releases, first_major=fresh_major(nth))


# The events of a never-seen project's Simple page (``--simple``), in the order they happen.
SIMPLE_EVENTS = (
    ("asgi>", "the server has the request"),
    ("thread>", "on a worker thread"),
    ("headers>", "the JSON document asked for (the page was asked for first)"),
    ("page>", "the upstream's page is in"),
    ("page<", "the upstream's page is read"),
    ("check>", "the JSON document is in: the rest of its check begins"),
    ("check<", "checked"),
    ("complete>", "core metadata: learning begins"),
    ("prepare>", "the page's prepare begins, if the upstream's page is not in yet"),
    ("prepare<", "prepared"),
    ("await<", "the upstream's page awaited"),
    ("fill>", "the page's fill begins"),
    ("fill<", "filled"),
    ("whole>", "or, the upstream's page in first: the page made whole begins"),
    ("whole<", "made whole"),
    ("thread<", "answer made"),
    ("received", "the client has it all"),
)


def run(
    misses: int, releases: int, idle: float, pin: bool, simple: bool = False
) -> list[dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp, FakePyPI() as fake:
        for i in range(misses):
            fake.add(project(f"timeline-{i}", releases, i))
        (Path(tmp) / "sitecustomize.py").write_text(PROBE)
        log = Path(tmp) / "stamps.log"
        log.touch()
        # Before any PYTHONPATH given (an older src to compare with), not in its place.
        path = os.pathsep.join(filter(None, (tmp, os.environ.get("PYTHONPATH"))))
        probe = {"PYTHONPATH": path, "PROBE_LOG": str(log)}
        settings = pull_through_settings(Path(tmp) / "b.db", {
            "PKGDEX_PYPI_UPSTREAM": fake.url, **probe
        })  # fmt: skip
        with running_server(settings, log_dir=Path(tmp)) as server, httpx.Client() as client:
            if pin:
                subprocess.run(["taskset", "-a", "-p", "2", str(server.process.pid)], check=True)
                subprocess.run(["taskset", "-a", "-p", "1", str(os.getpid())], check=True)
            misses_seen = []
            for i in range(misses):
                path = f"/pypi/timeline-{i}/json"
                started = time.perf_counter()
                client.get(fake.url + path).raise_for_status()
                headers = {"Accept-Encoding": "identity"}
                if simple:
                    path = f"/simple/timeline-{i}/"
                    headers["Accept"] = V1_JSON
                    client.get(fake.url + path, headers=headers).raise_for_status()
                sent = time.perf_counter()
                response = client.get(server.url + path, headers=headers)
                received = time.perf_counter()
                response.raise_for_status()
                misses_seen.append({"alone": sent - started, "sent": sent, "received": received})
                time.sleep(idle)
        stamps = [line.split() for line in log.read_text().splitlines()]
    timed = [(float(at), stage) for at, stage in stamps]
    for miss in misses_seen:
        for at, stage in timed:
            if miss["sent"] <= at <= miss["received"]:
                miss.setdefault(stage, at)  # the first, so the store behind is left out
    return misses_seen


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--misses", type=int, default=50)
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument("--idle", type=float, default=0.2, help="seconds between misses")
    parser.add_argument("--pin", action="store_true", help="server and client on a CPU each")
    parser.add_argument("--simple", action="store_true", help="a never-seen Simple page")
    args = parser.parse_args()
    misses = run(args.misses, args.releases, args.idle, args.pin, args.simple)
    kept = misses[5:]  # the first misses also load code and warm the pools

    def median_ms(values: list[float]) -> float:
        return statistics.median(values) * 1000 if values else float("nan")

    if args.simple:
        title = f"event of a never-seen Simple page ({args.releases} releases)"
        print(f"| {title} | ms | since the last |")
        print("|---|---:|---:|")
        last = "sent"
        for event, what in SIMPLE_EVENTS:
            since = [m[event] - m["sent"] for m in kept if event in m]
            step = [m[event] - m[last] for m in kept if event in m and last in m]
            print(f"| {what} | {median_ms(since):.3f} | {median_ms(step):.3f} |")
            last = event
        alone = [m["alone"] for m in kept]
        overhead = [m["received"] - m["sent"] - m["alone"] for m in kept]
        print(f"| the upstream's two answers, one after the other | {median_ms(alone):.3f} |")
        print(f"| overhead (p50 of paired differences) | {median_ms(overhead):.3f} |")
        return

    print(f"| stage of a miss ({args.releases} releases, {len(kept)} misses) | median ms |")
    print("|---|---:|")
    for start, end, what in STAGES:
        spans = [m[end] - m[start] for m in kept if start in m and end in m]
        print(f"| {what} | {median_ms(spans):.3f} |")
    whole = [m["received"] - m["sent"] for m in kept]
    alone = [m["alone"] for m in kept]
    overhead = [w - a for w, a in zip(whole, alone, strict=True)]
    print(f"| whole miss, as the client saw it | {median_ms(whole):.3f} |")
    print(f"| the upstream alone, as the client saw it | {median_ms(alone):.3f} |")
    print(f"| miss overhead (p50 of paired differences) | {median_ms(overhead):.3f} |")


if __name__ == "__main__":
    main()
