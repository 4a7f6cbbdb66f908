"""Measuring helpers shared by the benchmark scripts (run as ``python benchmarks/<name>.py``,
so this module is importable as ``measure``)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path


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
