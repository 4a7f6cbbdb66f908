"""The one HTTP client pkgdex uses to reach package registries (PyPI and npm).

Every upstream call goes through :meth:`Upstream.get_bytes` (or :meth:`Upstream.start_bytes`,
which does not wait for it), so the rules that keep pkgdex answering when a registry misbehaves
live in one place: a total deadline, headers included (a registry that drips bytes cannot hold
a worker or a connection: ``deadline.py``), a size cap checked while streaming (a registry that
announces or sends gigabytes is cut off early), every httpx failure turned into a clear 502 or
504, strict JSON parsing, and offline mode.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import httpx
import orjson
from fastapi import Depends, Request

from pkgdex.config import Settings
from pkgdex.metadata import deadline
from pkgdex.metadata.models import ETAG_MAX_LENGTH

USER_AGENT = "pkgdex/0.1 (+https://github.com/pkgdex/pkgdex)"
NOT_FOUND_STATUSES = frozenset({404, 410})
MAX_TRANSFERS = 64  # as many as the connection pool holds
# A compressed body that grows past the floor at more than the ratio is a bomb: JSON gzips
# about tenfold, and the size cap alone let four 1 MiB bombs hold a gigabyte at once.
BOMB_RATIO = 200
BOMB_FLOOR_BYTES = 16 * 1024 * 1024
DEADLINE_SLACK_SECONDS = 0.05  # lets a transfer that ends right at the deadline report itself
T = TypeVar("T")


class UpstreamError(Exception):
    """The upstream could not give a usable answer; ``status`` is what pkgdex answers."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    @property
    def upstream_down(self) -> bool:
        """Whether the upstream itself failed (no answer, or an error status), rather than
        sent one unusable document: only then are other requests spared from asking it."""
        return self.code in ("upstream_timeout", "upstream_unreachable", "upstream_error")


class UpstreamNotFound(Exception):  # noqa: N818 (the name npmregistry codes against)
    """The upstream says the document does not exist (404 or 410)."""


@dataclass
class Fetched:
    """A parsed upstream document (``data`` is None when ``status`` is 304)."""

    data: Any
    headers: httpx.Headers
    elapsed: float
    status: int = 200


@dataclass
class FetchedBytes:
    """An upstream body as it came (empty when ``status`` is 304), for callers that decode
    it themselves (a typed decoder that checks while it parses)."""

    body: bytes
    headers: httpx.Headers
    elapsed: float
    status: int = 200

    @property
    def validator(self) -> str | None:
        """The ETag to revalidate with later, when it fits where it is kept. None also for
        one longer: it only costs a full fetch next time, where storing it would fail."""
        etag = self.headers.get("etag")
        return etag if etag is not None and len(etag) <= ETAG_MAX_LENGTH else None


@dataclass(frozen=True)
class _Transfer:
    """One GET on a transfer worker: what to ask, until when, and who sees the chunks."""

    url: str
    headers: Mapping[str, str] | None
    deadline: float
    give_up: threading.Event
    on_chunk: Callable[[bytes], None] | None
    on_sent: Callable[[], None] | None = None


def _traced(on_sent: Callable[[], None] | None) -> dict[str, Any] | None:
    """httpx's request extensions that call ``on_sent`` once the request has gone out."""
    if on_sent is None:
        return None

    def trace(event: str, _info: dict[str, Any]) -> None:
        if event.endswith(".receive_response_headers.started"):  # http11 and http2 alike
            on_sent()

    return {"trace": trace}


class Upstream:
    """One per process: a pooled httpx.Client with the settings' timeout, size cap, offline mode."""

    def __init__(
        self, client: httpx.Client, *, timeout: float, max_bytes: int, offline: bool
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.offline = offline
        self._workers = ThreadPoolExecutor(MAX_TRANSFERS, thread_name_prefix="pkgdex-upstream")

    @classmethod
    def from_settings(cls, settings: Settings) -> Upstream:
        client = httpx.Client(
            timeout=httpx.Timeout(settings.upstream_timeout_seconds),
            limits=httpx.Limits(max_connections=MAX_TRANSFERS, max_keepalive_connections=16),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=True,
            event_hooks={"response": [_stay_on_host]},
        )
        return cls(
            deadline.with_deadlines(client),
            timeout=settings.upstream_timeout_seconds,
            max_bytes=settings.upstream_max_bytes,
            offline=settings.offline,
        )

    def close(self) -> None:
        self._workers.shutdown(wait=False, cancel_futures=True)
        self.client.close()

    def get_json(self, url: str, *, headers: Mapping[str, str] | None = None) -> Fetched:
        """GET ``url`` and parse its JSON body, within the deadline and the size cap.

        Raises :class:`UpstreamNotFound` for 404/410 and :class:`UpstreamError` otherwise;
        answers a 304 (when the caller sent a validator) as ``Fetched(status=304, data=None)``.
        """
        fetched = self.get_bytes(url, headers=headers)
        if fetched.status == 304:
            return Fetched(None, fetched.headers, fetched.elapsed, 304)
        data = parse_json(fetched.body, url)
        return Fetched(data, fetched.headers, fetched.elapsed, fetched.status)

    def get_bytes(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        on_chunk: Callable[[bytes], None] | None = None,
    ) -> FetchedBytes:
        """GET ``url``'s body unparsed, under the same rules as :meth:`get_json`; the caller
        raises :func:`malformed` when it is not the JSON it expects. ``on_chunk`` is given
        each chunk of a 2xx body as it arrives (in the transfer's thread; it must not raise),
        so that work on the body can go on while the rest is still on its way."""
        if self.offline:
            raise _offline()
        started = time.monotonic()
        give_up = threading.Event()
        # The transfer runs on a worker so the caller returns at the deadline even when the
        # upstream stalls mid-body (httpx's read timeout restarts with every byte received);
        # the abandoned worker sees ``give_up`` at its next chunk and closes the connection.
        transfer = _Transfer(url, headers, started + self.timeout, give_up, on_chunk)
        future = self._workers.submit(self._fetch, transfer, started)
        try:
            return future.result(timeout=self.timeout + DEADLINE_SLACK_SECONDS)
        except FutureTimeout as exc:
            give_up.set()
            raise UpstreamError(504, "upstream_timeout", f"{_host(url)} timed out") from exc

    def start_bytes(
        self,
        url: str,
        then: Callable[[FetchedBytes], T],
        *,
        headers: Mapping[str, str] | None = None,
        on_sent: Callable[[], None] | None = None,
    ) -> Future[T]:
        """GET ``url`` as :meth:`get_bytes` does, without waiting for it: the transfer's
        worker gives the body to ``then`` as soon as it is in, and the future holds what
        ``then`` returns, or the upstream's error. For a body needed later, by a caller busy
        meanwhile; the work on it then waits for no other thread. Its transfer keeps the
        same deadline, so the future ends within the upstream's timeout. ``on_sent`` is
        called (in the transfer's thread) each time a request has gone out and its answer is
        awaited."""
        if self.offline:
            failed: Future[T] = Future()
            failed.set_exception(_offline())
            return failed
        started = time.monotonic()
        transfer = _Transfer(url, headers, started + self.timeout, threading.Event(), None, on_sent)
        return self._workers.submit(lambda: then(self._fetch(transfer, started)))

    def _fetch(self, transfer: _Transfer, started: float) -> FetchedBytes:
        response, body = self._transfer(transfer)
        elapsed = time.monotonic() - started
        return FetchedBytes(body, response.headers, elapsed, response.status_code)

    def _transfer(self, transfer: _Transfer) -> tuple[httpx.Response, bytes]:
        url = transfer.url
        if transfer.give_up.is_set():  # waited for a free worker past the deadline
            raise UpstreamError(504, "upstream_timeout", f"{_host(url)} timed out")
        try:
            with (
                deadline.until(transfer.deadline),
                self.client.stream(
                    "GET", url, headers=transfer.headers, extensions=_traced(transfer.on_sent)
                ) as response,
            ):
                body = self._read_body(response, transfer)
        except httpx.TimeoutException as exc:
            raise UpstreamError(504, "upstream_timeout", f"{_host(url)} timed out") from exc
        except httpx.TransportError as exc:
            message = f"{_host(url)} is unreachable ({exc.__class__.__name__})"
            raise UpstreamError(502, "upstream_unreachable", message) from exc
        except httpx.DecodingError as exc:
            message = f"{_host(url)} sent a body that does not decode ({exc})"
            raise UpstreamError(502, "upstream_malformed", message) from exc
        except httpx.HTTPError as exc:  # too many redirects, and any other protocol fault
            message = f"{_host(url)} could not be asked ({exc.__class__.__name__}: {exc})"
            raise UpstreamError(502, "upstream_error", message) from exc
        return response, body

    def _read_body(self, response: httpx.Response, transfer: _Transfer) -> bytes:
        url, deadline, give_up = transfer.url, transfer.deadline, transfer.give_up
        status = response.status_code
        if status in NOT_FOUND_STATUSES:
            raise UpstreamNotFound(url)
        if status == 304:
            return b""
        if not 200 <= status < 300:
            raise UpstreamError(502, "upstream_error", f"{_host(url)} answered HTTP {status}")
        announced = response.headers.get("content-length", "")
        if announced.isdigit() and int(announced) > self.max_bytes:
            raise self._too_large(url)
        chunks: list[bytes] = []
        size = 0
        # With no content coding the raw stream is the body: reading it raw skips httpx's
        # decoder and re-chunking, about a third of the CPU of receiving a large document.
        coded = "content-encoding" in response.headers
        for chunk in response.iter_bytes() if coded else response.iter_raw():
            size += len(chunk)
            if size > self.max_bytes:
                raise self._too_large(url)
            if coded and size > BOMB_FLOOR_BYTES and size > BOMB_RATIO * _received(response):
                message = f"{_host(url)} sent a body that decompresses over {BOMB_RATIO} times"
                raise UpstreamError(502, "upstream_too_large", message)
            if give_up.is_set() or time.monotonic() > deadline:
                raise httpx.ReadTimeout("total deadline passed", request=response.request)
            chunks.append(chunk)
            if transfer.on_chunk is not None:
                transfer.on_chunk(chunk)
        return b"".join(chunks)

    def _too_large(self, url: str) -> UpstreamError:
        message = f"{_host(url)} sent more than {self.max_bytes} bytes"
        return UpstreamError(502, "upstream_too_large", message)


def _stay_on_host(response: httpx.Response) -> None:
    """Follow a redirect only on the upstream's own host (pypi.org sends non-normalised names
    to their normal form), or from http to https there: a document another host serves is
    not the upstream's to store."""
    if not response.has_redirect_location:
        return
    here = response.request.url
    try:
        there = here.join(response.headers["location"])
    except httpx.InvalidURL as exc:
        message = f"{_host(str(here))} redirected to an invalid URL"
        raise UpstreamError(502, "upstream_redirect", message) from exc
    same_port = there.port == here.port or (here.scheme, there.scheme) == ("http", "https")
    if there.host != here.host or not same_port:
        message = f"{_host(str(here))} redirected to another host ({there.host})"
        raise UpstreamError(502, "upstream_redirect", message)


def _received(response: httpx.Response) -> int:
    """Bytes received off the wire so far (before decoding), at least 1."""
    return max(response.num_bytes_downloaded, 1)


def parse_json(body: bytes, url: str) -> Any:
    """``body``, fetched from ``url``, parsed as JSON (or the 502 of :func:`malformed`)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise malformed(url) from exc


def _offline() -> UpstreamError:
    return UpstreamError(503, "offline", "pkgdex is offline and does not call upstreams")


def malformed(url: str) -> UpstreamError:
    """The 502 for an upstream body that is not the JSON document asked for."""
    return UpstreamError(502, "upstream_malformed", f"{_host(url)} sent a body that is not JSON")


def _host(url: str) -> str:
    return httpx.URL(url).host or "the upstream"


def get_upstream(request: Request) -> Upstream:
    upstream: Upstream = request.app.state.upstream
    return upstream


UpstreamDep = Annotated[Upstream, Depends(get_upstream)]
