"""Measuring helpers shared by the benchmark scripts (run as ``python benchmarks/<name>.py``,
so this module is importable as ``measure``)."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from pkgdex import db


def pull_through_settings(database: Path, upstream: dict[str, str]) -> dict[str, str]:
    """A benchmark server's settings: a fresh SQLite database at ``database`` (migrated here),
    online, no rate limits, pulling through from the fake upstreams ``upstream`` names (e.g.
    ``{"PKGDEX_PYPI_UPSTREAM": url}``)."""
    url = f"sqlite:///{database}"
    db.upgrade(url)
    online = {"PKGDEX_DATABASE_URL": url, "PKGDEX_OFFLINE": "0", "PKGDEX_RATE_LIMITS": "off"}
    return {**online, **upstream}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux): unlike wall-clock time, a busy machine does
    not inflate it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def ping_worker(port: int, deadline: float) -> int:
    """Send ``GET /pypi/ping`` on one keep-alive connection until ``deadline``; the count."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET /pypi/ping HTTP/1.1\r\nHost: bench\r\n\r\n"
    done = 0
    while time.perf_counter() < deadline:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        body = await reader.readexactly(length)
        assert b"pong" in body, body
        done += 1
    writer.close()
    return done


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile (``pct`` from 0 to 100) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 (the median) and p99 of ``samples``."""
    return statistics.median(samples), percentile(samples, 99)


def timed(fn: Callable[[], object], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def timed_paused(fn: Callable[[], object], count: int, idle: float | None = None) -> list[float]:
    """``timed``, each call with the cyclic garbage collector paused, as pkgdex pauses it
    around a miss (``collector.py``). With ``idle``, each call follows a collection and that
    many seconds asleep (the CPU a miss finds after the gap between misses)."""
    samples = []
    for _ in range(count):
        if idle is not None:
            gc.collect()
            time.sleep(idle)
        gc.disable()
        try:
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1000)
        finally:
            gc.enable()
    return samples


class RawClient:
    """A minimal keep-alive HTTP/1.1 client, so the numbers measure the server and not
    httpx's own per-request work (which is larger than pkgdex's on a cached answer)."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def get(self, path: str, headers: dict[str, str]) -> int:
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\n{lines}\r\n".encode())
        status = int(self.file.readline().split()[1])
        length = 0
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        self.file.read(length)
        if status not in (200, 304):
            raise RuntimeError(f"{path}: HTTP {status}")
        return length

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def throughput(base: str, path: str, headers: dict[str, str], seconds: float) -> tuple[float, int]:
    threads = 8
    done = [0] * threads
    deadline = time.perf_counter() + seconds

    def worker(i: int) -> None:
        client = RawClient(base)
        while time.perf_counter() < deadline:
            client.get(path, headers)
            done[i] += 1
        client.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    return sum(done) / (time.perf_counter() - started), sum(done)


def thread_cpu(pid: int) -> dict[int, int]:
    """CPU nanoseconds of each thread of a process, from the scheduler (Linux): a miss costs
    a few milliseconds, below the 10 ms ticks ``cpu_seconds`` counts in."""
    used = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            used[int(task.name)] = int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):  # the thread ended meanwhile
            continue
    return used


def cpu_since(before: dict[int, int], pid: int) -> float:
    """Seconds of CPU the process's threads used since ``before`` (a thread that ended
    meanwhile takes its share along: rare, and only ever an undercount)."""
    now = thread_cpu(pid)
    return sum(used - before.get(tid, 0) for tid, used in now.items()) / 1e9


def elapsed_ms(client: RawClient, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    client.get(path, headers)
    return (time.perf_counter() - started) * 1000


def paired_overhead(
    client: httpx.Client,
    upstream: str,
    server: str,
    path: str,
    encoding: str = "identity",
    accept: str | None = None,
) -> float:
    """``path``'s time through ``server`` minus the upstream's own for it just before, in ms:
    a pair shares the machine's state of the moment, so its drift cancels out."""
    headers = {"Accept-Encoding": encoding, **({"Accept": accept} if accept else {})}
    started = time.perf_counter()
    client.get(upstream + path, headers=headers).raise_for_status()
    alone = time.perf_counter() - started
    started = time.perf_counter()
    response = client.get(server + path, headers=headers)
    through = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{server}{path}: HTTP {response.status_code}")
    return (through - alone) * 1000


def concurrent_statuses(url: str, count: int, timeout: float = 60.0) -> list[int]:
    """The statuses of ``count`` GETs of ``url``, one client each, released together."""
    start = threading.Barrier(count)

    def ask(_: int) -> int:
        with httpx.Client(timeout=timeout) as client:
            start.wait()
            return client.get(url).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(ask, range(count)))


def gzipped_size(client: httpx.Client, url: str, headers: dict[str, str]) -> int | None:
    """The size of ``url``'s gzip answer once it is made (pkgdex makes it behind the first
    answer that could have used it); None from a server that never answers gzipped (older
    code, run for comparison)."""
    asking = {**headers, "Accept-Encoding": "gzip"}
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        answer = client.head(url, headers=asking)
        if answer.headers.get("content-encoding") == "gzip":
            return int(answer.headers["content-length"])
        time.sleep(0.05)
    return None


def kib(size: int | None) -> str:
    return "not served" if size is None else f"{size // 1024} KiB"
