"""A real pkgdex server in a subprocess, for tests whose subject is processes.

``running_server(env)`` starts ``uvicorn pkgdex.app:app_from_environment --factory`` on a free
loopback port with the given ``PKGDEX_*`` settings (and none inherited from the caller's
environment), waits until ``/pypi/ping`` answers, and stops it afterwards. The server's output
goes to a log file that is shown when it fails to start.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as when a host dies."""
        self.process.kill()
        self.process.wait(10)


def server_environment(settings: dict[str, str]) -> dict[str, str]:
    """The caller's environment without its PKGDEX_* variables, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PKGDEX_")}
    env.update(settings)
    return env


def pypi_pull_through_settings(database_url: str, upstream_url: str) -> dict[str, str]:
    """A live server's settings for real clients of the PyPI surfaces: pulling through from
    ``upstream_url`` (a fake on loopback), no rate limits."""
    return {
        "PKGDEX_DATABASE_URL": database_url,
        "PKGDEX_RATE_LIMITS": "off",
        "PKGDEX_OFFLINE": "0",
        "PKGDEX_PYPI_UPSTREAM": upstream_url,
        "PKGDEX_UPSTREAM_TIMEOUT_SECONDS": "5",
    }


def start_server(
    settings: dict[str, str],
    *,
    workers: int = 1,
    timeout: float = 30.0,
    log_dir: Path | None = None,
) -> ServerProcess:
    server = _launch(settings, workers, log_dir)
    try:
        _wait_until_ready(server, timeout)
    except Exception:
        server.stop()
        raise
    return server


def _launch(settings: dict[str, str], workers: int, log_dir: Path | None) -> ServerProcess:
    port = free_port()
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="pkgdex-server-"))
    log_path = log_dir / f"server-{port}.log"
    command = [
        sys.executable, "-m", "uvicorn", "pkgdex.app:app_from_environment", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-proxy-headers",  # as `pkgdex serve` runs it
    ]  # fmt: skip
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            env=server_environment(settings),
            cwd=log_dir,  # no stray .env file is read
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(f"http://127.0.0.1:{port}", process, log_path)


def _wait_until_ready(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"pkgdex server exited at start:\n{server.log()}")
        try:
            if httpx.get(f"{server.url}/pypi/ping", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"pkgdex server did not answer within {timeout}s:\n{server.log()}")


@contextmanager
def running_server(
    settings: dict[str, str], *, workers: int = 1, log_dir: Path | None = None
) -> Iterator[ServerProcess]:
    server = start_server(settings, workers=workers, log_dir=log_dir)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def running_servers(
    settings: dict[str, str], count: int, *, log_dir: Path | None = None
) -> Iterator[list[ServerProcess]]:
    """``count`` servers with the same settings, started side by side (start-up is slow)."""
    servers = [_launch(settings, 1, log_dir) for _ in range(count)]
    try:
        for server in servers:
            _wait_until_ready(server, 30.0)
        yield servers
    finally:
        for server in servers:
            server.stop()
