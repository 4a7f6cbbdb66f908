"""deadline.py: every connection pool of a client keeps the calling thread's deadline."""

from __future__ import annotations

import time

import httpcore
import httpx
import pytest

from pkgdex.metadata import deadline


def _backends(client: httpx.Client) -> list[object]:
    transports = [client._transport, *client._mounts.values()]
    return [t._pool._network_backend for t in transports if t is not None]  # type: ignore[attr-defined]


def test_every_pool_of_the_client_gets_the_deadline_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Proxies from the environment are mounted transports of their own: they keep it too.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    client = deadline.with_deadlines(httpx.Client())
    backends = _backends(client)
    assert len(backends) >= 2
    assert all(isinstance(b, deadline.DeadlineBackend) for b in backends)
    client.close()


class _Slow(httpcore.NetworkStream):
    def __init__(self) -> None:
        self.timeouts: list[float | None] = []
        self.sizes: list[int] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.timeouts.append(timeout)
        self.sizes.append(max_bytes)
        return b"x"


def test_a_read_takes_up_to_a_mebibyte_whatever_httpcore_asks() -> None:
    # A large document already in the socket's buffer comes in one read, not eleven.
    inner = _Slow()
    stream = deadline.DeadlineStream(inner)
    stream.read(64 * 1024, 5.0)
    stream.read(4 * deadline.READ_BYTES, 5.0)
    assert inner.sizes == [deadline.READ_BYTES, 4 * deadline.READ_BYTES]


def test_reads_wait_at_most_until_the_deadline_then_fail() -> None:
    inner = _Slow()
    stream = deadline.DeadlineStream(inner)
    assert stream.read(10, 5.0) == b"x"  # no deadline set: as asked
    with deadline.until(time.monotonic() + 0.2):
        stream.read(10, 5.0)
        stream.read(10, None)
        time.sleep(0.25)
        with pytest.raises(httpcore.ReadTimeout):
            stream.read(10, 5.0)
    stream.read(10, 5.0)
    first, second = inner.timeouts[1:3]
    assert first is not None and first <= 0.2 and second is not None and second <= 0.2
    assert inner.timeouts[0] == inner.timeouts[-1] == 5.0
