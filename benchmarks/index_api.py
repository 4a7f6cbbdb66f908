"""What the name-index HTTP layer costs: /ping throughput and search overhead over the query.

    .venv/bin/python benchmarks/index_api.py [--seconds 5] [--names 200000]

1. ``/pypi/ping`` through a real uvicorn server, one worker, 8 keep-alive connections, against
   the naive way in the same run: the original's ``@app.get("/ping") def ping(): return {...}``
   in a bare FastAPI app on the same uvicorn settings (no pkgdex middleware at all).
2. ``/pypi/search`` in process (ASGI call, no socket), median per request through the whole
   app (middleware, validation, rate limit in memory, one thread hop, orjson) next to the same
   query called directly, over the first ``--names`` rows of ../shared/data/pypi-packages.tsv.gz.
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import ping_worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pkgdex import db
from pkgdex.app import create_app
from pkgdex.config import Settings
from pkgdex.index.jobs import load_index
from pkgdex.index.queries import search
from support.server import free_port, running_server, server_environment

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
NAIVE_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/pypi/ping")
def ping():
    return {"ping": "pong"}
"""
QUERIES = ["requests", "djang", "py", "json", "flask-", "zz", "numpy", "qqzzxxvv", "test", "aw"]


def ping_rate(port: int, seconds: float, connections: int = 8) -> float:
    async def run() -> int:
        deadline = time.perf_counter() + seconds
        counts = await asyncio.gather(*(ping_worker(port, deadline) for _ in range(connections)))
        return sum(counts)

    return asyncio.run(run()) / seconds


def naive_ping_rate(work: Path, seconds: float) -> float:
    (work / "naive_ping.py").write_text(NAIVE_APP)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "naive_ping:app", "--port", str(port)]
    command += ["--log-level", "warning", "--no-proxy-headers"]
    process = subprocess.Popen(command, cwd=work, env=server_environment({}))
    try:
        for _ in range(200):
            try:
                return ping_rate(port, seconds)
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the naive server did not start")
    finally:
        process.terminate()
        process.wait(10)


def slice_listing(work: Path, names: int) -> Path:
    path = work / "pypi-slice.tsv"
    with gzip.open(SHARED / "pypi-packages.tsv.gz", "rt") as source, path.open("w") as out:
        for i, line in enumerate(source):
            if i > names:
                break
            out.write(line)
    return path


async def _asgi_get(app: Any, path: str, query: bytes) -> int:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query,
        "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def search_overhead(url: str, rounds: int) -> tuple[list[float], list[float]]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=url, rate_limit_index="1000000/minute"
    )
    app = create_app(settings)
    through_app: list[float] = []
    direct: list[float] = []

    async def run() -> None:
        # Interleaved, so both see the same caches and the same neighbours on the machine.
        async with app.router.lifespan_context(app):
            with app.state.engine.connect() as conn:
                for _ in range(rounds):
                    for q in QUERIES:
                        started = time.perf_counter()
                        status = await _asgi_get(app, "/pypi/search", f"q={q}&limit=250".encode())
                        through_app.append((time.perf_counter() - started) * 1000)
                        assert status == 200, status
                        started = time.perf_counter()
                        search(conn, "pypi", q, 250)
                        direct.append((time.perf_counter() - started) * 1000)

    asyncio.run(run())
    app.state.engine.dispose()
    return through_app, direct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--names", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pkgdex-bench-api-"))
    url = f"sqlite:///{work / 'index.db'}"
    db.upgrade(url)
    report = load_index(db.make_engine(url), "pypi", str(slice_listing(work, args.names)))
    settings = {"PKGDEX_DATABASE_URL": url, "PKGDEX_OFFLINE": "1"}
    with running_server(settings, log_dir=work) as server:
        ours = ping_rate(int(server.url.rsplit(":", 1)[1]), args.seconds)
    naive = naive_ping_rate(work, args.seconds)
    through_app, direct = search_overhead(url, args.rounds)

    print("\n| /pypi/ping, uvicorn, one worker, 8 connections | requests/s |")
    print("|---|---:|")
    print(f"| pkgdex (whole app: CORS, request ids, error handling) | {ours:,.0f} |")
    print(f"| naive: bare FastAPI, `def ping(): return {{...}}` | {naive:,.0f} |")
    print(f"\n| /pypi/search over {report.loaded:,} names, in process | p50 ms | p90 ms |")
    print("|---|---:|---:|")
    for label, values in (("through the app", through_app), ("the query alone", direct)):
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"| {label} | {statistics.median(values):.2f} | {p90:.2f} |")


if __name__ == "__main__":
    main()
