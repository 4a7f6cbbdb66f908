"""A total deadline for an upstream transfer, headers included, wherever it is waiting.

httpx's timeouts are per operation: each read may wait that long again, so an upstream that
drips a byte of its headers at a time would hold a connection, and the thread reading it, for
as long as it drips. Here every connect, read and write of a client's connections waits at
most until the deadline the calling thread set (``until``), and fails as a timeout after it:
the transfer ends and its connection is dropped.

httpx offers no total deadline for its blocking client (its async one is cancellable, but
cost a miss about 2 ms more per 700 KiB body here), so the client's connection pools are given
a network backend that keeps one (``with_deadlines``), through the pools' backend attribute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

_deadline = threading.local()
# What one read of a connection may take: httpcore asks for 64 KiB, so a 700 KiB document that
# is all in the socket's buffer took 11 reads, each a chunk for the miss's check to take in
# (arriving.py). In one read it came 0.15-0.24 ms sooner (paired A/B of 100 misses); a read
# of a small answer costs about 9 us more (the larger buffer), and a paced one is unchanged.
READ_BYTES = 1024 * 1024


@contextmanager
def until(deadline: float) -> Iterator[None]:
    """Connections used by this thread meanwhile give up at ``deadline`` (``time.monotonic``)."""
    _deadline.at = deadline
    try:
        yield
    finally:
        _deadline.at = None


def with_deadlines(client: httpx.Client) -> httpx.Client:
    """``client``, whose connections keep the deadline of the thread using them. Fails if
    httpx no longer builds its transports the way this relies on (a test pins it)."""
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        if transport is None:
            continue
        pool = transport._pool  # type: ignore[attr-defined]
        pool._network_backend = DeadlineBackend(pool._network_backend)
    return client


def _remaining(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to what is left until the thread's deadline (none set: as it is)."""
    deadline: float | None = getattr(_deadline, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the transfer's total deadline passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes wait no later than the deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        wait = _remaining(timeout, httpcore.ReadTimeout)
        return self._inner.read(max(max_bytes, READ_BYTES), wait)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        wait = _remaining(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, wait))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Opens connections (within the deadline) that keep it."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _remaining(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(
            self._inner.connect_tcp(host, port, wait, local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        wait = _remaining(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
