"""Pull-through building blocks shared by the PyPI and npm caches.

:class:`SingleFlight` makes concurrent misses for one name cost one upstream request;
:class:`EarlyCalls` starts a request that an answer will need before that answer gets to it;
:class:`CachePolicy` decides whether a cached copy may be served as it is.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import redis

from pkgdex.config import Settings
from pkgdex.middleware import REQUEST_ARRIVED

log = logging.getLogger(__name__)

T = TypeVar("T")
FAILURES_KEPT = 10_000  # the last failure per key, for requests that were waiting for it


@dataclass
class _Call(Generic[T]):
    done: threading.Event = field(default_factory=threading.Event)
    result: T | None = None
    error: BaseException | None = None
    held: bool = False  # the leader keeps the key after answering (see SingleFlight.hold)
    lock: Any = None  # the leader's Redis lock, if it took one
    finished: bool = False


class EarlyCalls:
    """Calls started before the work that needs their result, so that their wait overlaps
    it: one call per key at a time, shared by whoever starts that key meanwhile, until one
    of them forgets it. A call is begun without waiting (its own future: an upstream
    transfer, ``Upstream.start_bytes``), so whatever it does with its answer is done as the
    answer comes in, with no thread of its own between that answer and its caller.

    A call is given a function to call once its request has gone out (:meth:`wait_asked`):
    work that holds the interpreter, started before then, would hold up the sending too."""

    def __init__(self) -> None:
        self._calls: dict[str, tuple[Future[Any], threading.Event]] = {}
        self._guard = threading.Lock()

    def start(self, key: str, begin: Callable[[Callable[[], None]], Future[T]]) -> Future[T]:
        """``key``'s call: the one begun and not forgotten yet, else ``begin``'s, which must
        return at once."""
        with self._guard:
            entry = self._calls.get(key)
            if entry is None:
                asked = threading.Event()
                call = begin(asked.set)
                call.add_done_callback(lambda _: asked.set())  # failed before asking, too
                entry = self._calls[key] = (call, asked)
            return entry[0]

    def wait_asked(self, key: str, call: Future[Any], timeout: float) -> None:
        """Wait, at most ``timeout`` seconds, until ``key``'s ``call`` has asked (its request
        has gone out) or has ended."""
        with self._guard:
            entry = self._calls.get(key)
        if entry is not None and entry[0] is call:
            entry[1].wait(timeout)

    def forget(self, key: str, call: Future[Any]) -> None:
        """Done with ``key``'s call: the next start makes a new one."""
        with self._guard:
            entry = self._calls.get(key)
            if entry is not None and entry[0] is call:
                del self._calls[key]


class SingleFlight:
    """Concurrent callers for one key share one call (thread-safe).

    With Redis, the leader of each process also takes a short Redis lock, so several processes
    queue up behind one request. ``fn`` must therefore re-check the cache before calling out:
    a process that waited for another's lock then finds the fresh copy and makes no request.

    A request that arrived while a call for its key was running shares that call's failure
    even when it reaches the key only after the call ended (it waited for a worker thread):
    else a burst of requests for a failing upstream asks it again in waves, one per thread
    pool's worth, each wave as slow as the failure. Requests that arrive later ask again.
    """

    def __init__(
        self,
        client: redis.Redis[bytes] | None = None,
        *,
        prefix: str = "pkgdex",
        lock_seconds: float = 30,
    ) -> None:
        self._calls: dict[str, _Call[Any]] = {}
        self._failed: dict[str, tuple[float, Exception]] = {}  # key -> (when, the failure)
        self._guard = threading.Lock()
        self._redis = client
        self._prefix = prefix
        self._lock_seconds = lock_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> SingleFlight:
        client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
        # The lock only needs to outlive one upstream call (plus storing it).
        lock_seconds = settings.upstream_timeout_seconds * 2 + 5
        return cls(client, prefix=settings.redis_prefix, lock_seconds=lock_seconds)

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()

    def do(self, key: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` once for all callers that ask for ``key`` while it runs."""
        with self._guard:
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                failed = self._failed_since_arrival(key)
                if failed is not None:
                    raise failed
                call = self._calls[key] = _Call()
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise call.error
            return call.result  # type: ignore[return-value]
        try:
            call.lock = self._lock(key)
            call.result = fn()
            self._failed.pop(key, None)
            return call.result
        except Exception as exc:
            call.error = exc
            self._remember_failure(key, exc)
            raise
        except BaseException as exc:
            call.error = exc
            raise
        finally:
            if not call.held or call.error is not None:
                self._finish(key, call)  # first: who comes next starts a call of its own
            call.done.set()  # waiters take the result now, even while the key is held

    def _failed_since_arrival(self, key: str) -> Exception | None:
        """The failure of the last call for ``key`` if it ended after this request arrived."""
        arrived = REQUEST_ARRIVED.get()
        failed = self._failed.get(key)
        if arrived is None or failed is None or failed[0] < arrived:
            return None
        return failed[1]

    def _remember_failure(self, key: str, exc: Exception) -> None:
        with self._guard:
            if len(self._failed) >= FAILURES_KEPT:
                self._failed.clear()
            self._failed[key] = (time.monotonic(), exc)

    def hold(self, key: str) -> Callable[[], None]:
        """Called by the leader inside ``fn``: keep ``key`` (and its Redis lock) after ``fn``
        returns, until the returned function is called. Callers that come meanwhile take the
        leader's result instead of starting a call of their own, so work the answer does not
        wait for (storing it) can finish after answering without anyone missing in between."""
        with self._guard:
            call = self._calls[key]
        call.held = True
        return lambda: self._finish(key, call)

    def _finish(self, key: str, call: _Call[Any]) -> None:
        with self._guard:
            if call.finished:
                return
            call.finished = True
            del self._calls[key]
        if call.lock is not None:
            _release_quietly(call.lock, key)

    def _lock(self, key: str) -> Any:
        """Take the Redis lock for ``key`` (None without Redis, or when Redis is down)."""
        if self._redis is None:
            return None
        # thread_local=False: a held key is released by the thread that finishes the work.
        lock = self._redis.lock(
            f"{self._prefix}:singleflight:{key}",
            timeout=self._lock_seconds,
            blocking_timeout=self._lock_seconds,
            thread_local=False,
        )
        try:
            acquired = lock.acquire()
        except redis.RedisError as exc:
            # Redis only saves duplicate requests; without it, answering still works.
            log.warning("single-flight lock unavailable for %s: %s", key, exc)
            return None
        return lock if acquired else None

    @property
    def shared(self) -> bool:
        """Whether other processes share these keys (through Redis)."""
        return self._redis is not None


def _release_quietly(lock: Any, key: str) -> None:
    try:
        lock.release()
    except redis.RedisError as exc:  # expired or Redis gone: the lock times out by itself
        log.warning("single-flight lock for %s not released: %s", key, exc)


class Freshness(enum.Enum):
    FRESH = "fresh"  # serve as it is
    STALE = "stale"  # refresh; serve it only when the upstream fails
    EXPIRED = "expired"  # a remembered 404 that is too old: ask again, never serve it


@dataclass(frozen=True)
class CachePolicy:
    """How long cached documents (``ttl``) and remembered upstream 404s (``negative_ttl``) last."""

    ttl: float
    negative_ttl: float

    @classmethod
    def from_settings(cls, settings: Settings) -> CachePolicy:
        return cls(settings.metadata_ttl_seconds, settings.metadata_negative_ttl_seconds)

    def freshness(
        self, fetched_at: float | datetime, *, negative: bool = False, now: float | None = None
    ) -> Freshness:
        age = self.age(fetched_at, now=now)
        if negative:
            return Freshness.FRESH if age < self.negative_ttl else Freshness.EXPIRED
        return Freshness.FRESH if age < self.ttl else Freshness.STALE

    def is_fresh(
        self, fetched_at: float | datetime, *, negative: bool = False, now: float | None = None
    ) -> bool:
        return self.freshness(fetched_at, negative=negative, now=now) is Freshness.FRESH

    @staticmethod
    def age(fetched_at: float | datetime, *, now: float | None = None) -> float:
        stamp = fetched_at.timestamp() if isinstance(fetched_at, datetime) else fetched_at
        return (time.time() if now is None else now) - stamp


STALE_HEADERS = {"Warning": '110 - "Response is Stale"', "X-Pkgdex-Stale": "1"}


def freshness_headers(
    fetched_at: float, stale: bool, *, now: float | None = None
) -> dict[str, str]:
    """What a cached answer says of its age: ``Age``, the seconds since the copy was fetched
    from the upstream (RFC 9111, as the CDNs in front of pypi.org and npm send it), so a
    client sees how old its answer is and an HTTP cache counts ``max-age`` from the fetch;
    and the stale warning when the upstream could not refresh it."""
    age = max(0, int((time.time() if now is None else now) - fetched_at))
    return {"Age": str(age), **STALE_HEADERS} if stale else {"Age": str(age)}
