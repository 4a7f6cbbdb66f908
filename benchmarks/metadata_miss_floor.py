"""A PyPI pull-through miss's overhead against the floor of the stack it runs on, paired.

The miss target ("adds no more than 5 ms to the upstream's own latency") is measured on a host
whose speed drifts by 2x. This run puts the figure beside what the same host charges for the
hop alone: a bare relay (``benchmarks/relay.py``: uvicorn, one ``httpx.AsyncClient``, the
upstream's bytes answered as they came, no store and no check), and the same relay parsing the
body once (orjson) to refuse malformed JSON, the least a cache must check. One fake pypi.org and
three one-worker servers (pkgdex over a fresh SQLite database, the two relays) take turns on the
same documents, which goes first rotating; each miss is paired with the upstream's own answer
taken just before it, so a drift of the host cancels out of each difference.

    .venv/bin/python benchmarks/metadata_miss_floor.py [--misses 100] [--releases 6 500]
        [--pace MS]

``--pace MS`` has the upstream send its body in 64 KiB pieces MS apart, as a real link does
(loopback hands a whole body over at once).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from measure import paired_overhead, percentiles, pull_through_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.fake_pypi import FakePyPI, big_project, fresh_major
from support.server import free_port, running_server, server_environment

IDLE = 0.2  # between misses, as in metadata_pypi.py: pkgdex stores behind each answer
SERVERS = ("pkgdex", "relay", "relay + JSON parse")
PIECE = 64 * 1024  # --pace's piece


@contextmanager
def running_relay(upstream: str, check: bool, log_dir: Path) -> Iterator[str]:
    """``relay.py`` under uvicorn with pkgdex's own command-line options; its base URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "relay:app", "--app-dir", str(Path(__file__).parent),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--log-level", "warning", "--no-proxy-headers",
    ]  # fmt: skip
    env = server_environment({"RELAY_UPSTREAM": upstream, "RELAY_CHECK": "json" if check else ""})
    with (log_dir / f"relay-{port}.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, cwd=log_dir, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the relay exited at start")
        try:
            httpx.get(url + "/", timeout=1.0)  # any answer (the upstream's 404) means it is up
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("the relay did not start within 30 s")


def run(
    misses: int, sizes: list[int], pace: tuple[int, float] | None
) -> dict[tuple[int, str], list[float]]:
    with tempfile.TemporaryDirectory() as tmp, FakePyPI() as fake, ExitStack() as stack:
        fake.pace = pace
        for n, releases in enumerate(sizes):
            for i in range(misses):  # versions of their own: parsing new ones is part of a miss
                major = fresh_major(n * misses + i)
                fake.add(big_project(f"floor-{releases}-{i}", releases, first_major=major))
        log_dir = Path(tmp)
        settings = pull_through_settings(log_dir / "pkgdex.db", {"PKGDEX_PYPI_UPSTREAM": fake.url})
        urls = {
            "pkgdex": stack.enter_context(running_server(settings, log_dir=log_dir)).url,
            "relay": stack.enter_context(running_relay(fake.url, False, log_dir)),
            "relay + JSON parse": stack.enter_context(running_relay(fake.url, True, log_dir)),
        }
        client = stack.enter_context(httpx.Client())
        results: dict[tuple[int, str], list[float]] = {}
        for releases in sizes:
            for i in range(misses):
                path = f"/pypi/floor-{releases}-{i}/json"
                turn = i % len(SERVERS)
                for name in SERVERS[turn:] + SERVERS[:turn]:
                    sample = paired_overhead(client, fake.url, urls[name], path)
                    results.setdefault((releases, name), []).append(sample)
                    time.sleep(IDLE)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--misses", type=int, default=100, help="documents per size")
    parser.add_argument("--releases", type=int, nargs="+", default=[6, 500], help="sizes")
    parser.add_argument(
        "--pace",
        type=float,
        metavar="MS",
        help="the upstream sends 64 KiB pieces this many ms apart (default: all at once)",
    )
    args = parser.parse_args()
    pace = None if args.pace is None else (PIECE, args.pace / 1000)
    results = run(args.misses, args.releases, pace)
    print("| overhead over the upstream, ms (p50 of paired differences) | p50 | p99 |")
    print("|---|---:|---:|")
    for releases in args.releases:
        for name in SERVERS:
            p50, p99 = percentiles(results[(releases, name)])
            print(f"| {releases} releases: {name} | {p50:.2f} | {p99:.2f} |")
        for floor in SERVERS[1:]:
            pairs = zip(results[(releases, "pkgdex")], results[(releases, floor)], strict=True)
            p50, _ = percentiles([mine - theirs for mine, theirs in pairs])
            print(f"| {releases} releases: pkgdex minus {floor}, miss by miss | {p50:.2f} | - |")


if __name__ == "__main__":
    main()
