"""SingleFlight (in one process and across processes through Redis) and CachePolicy."""

from __future__ import annotations

import contextvars
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import redis

from pkgdex.metadata.pullthrough import CachePolicy, EarlyCalls, Freshness, SingleFlight
from pkgdex.middleware import REQUEST_ARRIVED


def _slow_counter(calls: list[int], seconds: float = 0.2) -> int:
    calls.append(1)
    time.sleep(seconds)
    return len(calls)


def test_concurrent_callers_share_one_call() -> None:
    flight = SingleFlight()
    calls: list[int] = []
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda _: flight.do("k", lambda: _slow_counter(calls)), range(50)))
    assert calls == [1]
    assert results == [1] * 50


def test_different_keys_do_not_wait_for_each_other() -> None:
    flight = SingleFlight()
    calls: list[int] = []
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda key: flight.do(key, lambda: _slow_counter(calls)), ["a", "b"]))
    assert len(calls) == 2


def test_an_error_reaches_every_waiter_and_is_not_remembered() -> None:
    flight = SingleFlight()
    started = threading.Event()

    def failing() -> int:
        started.set()
        time.sleep(0.1)
        raise ValueError("upstream broke")

    with ThreadPoolExecutor(5) as pool:
        futures = [pool.submit(flight.do, "k", failing)]
        started.wait()
        futures += [pool.submit(flight.do, "k", failing) for _ in range(4)]
        for future in futures:
            with pytest.raises(ValueError, match="upstream broke"):
                future.result()
    assert flight.do("k", lambda: 7) == 7


@pytest.mark.redis
def test_redis_lock_serialises_two_processes(redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    first = SingleFlight(redis.Redis.from_url(redis_url), prefix=prefix, lock_seconds=5)
    second = SingleFlight(redis.Redis.from_url(redis_url), prefix=prefix, lock_seconds=5)
    inside: list[str] = []
    overlaps: list[bool] = []

    def work(tag: str) -> str:
        overlaps.append(bool(inside))
        inside.append(tag)
        time.sleep(0.2)
        inside.remove(tag)
        return tag

    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(first.do, "name", lambda: work("a"))
        b = pool.submit(second.do, "name", lambda: work("b"))
        assert {a.result(), b.result()} == {"a", "b"}
    assert overlaps == [False, False]
    first.close()
    second.close()


def test_unreachable_redis_still_answers() -> None:
    flight = SingleFlight(redis.Redis.from_url("redis://127.0.0.1:1/0"), lock_seconds=1)
    assert flight.do("k", lambda: 3) == 3


def test_cache_policy_freshness() -> None:
    policy = CachePolicy(ttl=900, negative_ttl=60)
    now = 10_000.0
    assert policy.freshness(now - 899, now=now) is Freshness.FRESH
    assert policy.freshness(now - 900, now=now) is Freshness.STALE
    assert policy.freshness(now - 59, negative=True, now=now) is Freshness.FRESH
    assert policy.freshness(now - 61, negative=True, now=now) is Freshness.EXPIRED
    aware = datetime.fromtimestamp(now - 10, tz=UTC)
    assert policy.is_fresh(aware, now=now)
    assert CachePolicy(ttl=0, negative_ttl=0).freshness(now, now=now) is Freshness.STALE


def test_a_held_key_gives_callers_the_result_until_released() -> None:
    flight = SingleFlight()
    calls: list[int] = []
    releases = []

    def leader() -> int:
        calls.append(1)
        releases.append(flight.hold("k"))
        return 1

    assert flight.do("k", leader) == 1
    assert flight.do("k", lambda: _slow_counter(calls)) == 1  # held: the leader's answer
    assert calls == [1]
    releases[0]()
    releases[0]()  # releasing twice is harmless
    assert flight.do("k", lambda: _slow_counter(calls, 0)) == 2  # released: a call of its own


def test_a_failing_leader_releases_a_held_key() -> None:
    flight = SingleFlight()

    def leader() -> int:
        flight.hold("k")
        raise ValueError("broke after holding")

    with pytest.raises(ValueError, match="broke after holding"):
        flight.do("k", leader)
    assert flight.do("k", lambda: 5) == 5


@pytest.mark.redis
def test_a_held_redis_lock_is_released_by_another_thread(redis_url: str) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    client = redis.Redis.from_url(redis_url)
    flight = SingleFlight(client, prefix=prefix, lock_seconds=5)
    releases = []

    def leader() -> int:
        releases.append(flight.hold("name"))
        return 1

    assert flight.do("name", leader) == 1
    assert client.keys(f"{prefix}:singleflight:*") != []  # still held after answering
    worker = threading.Thread(target=releases[0])
    worker.start()
    worker.join()
    assert client.keys(f"{prefix}:singleflight:*") == []
    flight.close()


def _as_request(arrived: float, fn: Callable[[], int], flight: SingleFlight) -> int:
    REQUEST_ARRIVED.set(arrived)  # as the middleware does, in this thread's own context
    return flight.do("k", fn)


def test_a_failure_is_shared_with_requests_that_arrived_while_it_ran() -> None:
    flight = SingleFlight()
    calls: list[float] = []

    def failing() -> int:
        calls.append(time.monotonic())
        raise ValueError("upstream broke")

    before = time.monotonic()
    with pytest.raises(ValueError):
        contextvars.copy_context().run(_as_request, before, failing, flight)
    # Arrived before the failure, reached the key after it (it waited for a thread): shared.
    with pytest.raises(ValueError, match="upstream broke"):
        contextvars.copy_context().run(_as_request, before, failing, flight)
    assert len(calls) == 1
    # Arrived after it: asks again. And so does a caller that is no request at all.
    with pytest.raises(ValueError):
        contextvars.copy_context().run(_as_request, time.monotonic(), failing, flight)
    with pytest.raises(ValueError):
        flight.do("k", failing)
    assert len(calls) == 3
    assert contextvars.copy_context().run(_as_request, time.monotonic(), lambda: 7, flight) == 7
    # A success forgets the failure: a request that arrived before both asks anew.
    assert contextvars.copy_context().run(_as_request, before, lambda: 8, flight) == 8


def _begun_on(
    pool: ThreadPoolExecutor, call: Callable[[Callable[[], None]], str]
) -> Callable[[Callable[[], None]], Future[str]]:
    """An early call begun as an upstream transfer is: on a worker, not waited for."""
    return lambda asked: pool.submit(call, asked)


def test_an_early_calls_asking_is_waited_for_until_it_asks_or_ends() -> None:
    early, pool = EarlyCalls(), ThreadPoolExecutor(2)
    may_ask, may_end = threading.Event(), threading.Event()

    def call(asked: Callable[[], None]) -> str:
        may_ask.wait(5)
        asked()
        may_end.wait(5)
        return "done"

    def failing(_asked: Callable[[], None]) -> str:
        raise RuntimeError("refused before asking")

    try:
        first = early.start("a", _begun_on(pool, call))
        started = time.monotonic()
        early.wait_asked("a", first, 0.05)  # not asked yet: waits the whole bound
        assert time.monotonic() - started >= 0.05
        may_ask.set()
        early.wait_asked("a", first, 5)  # returns once asked, the call still running
        assert not first.done()
        may_end.set()
        failed = early.start("b", _begun_on(pool, failing))
        started = time.monotonic()
        early.wait_asked("b", failed, 5)  # ended without asking: no wait
        assert time.monotonic() - started < 4
        early.wait_asked("c", first, 5)  # no call of that key: nothing to wait for
    finally:
        may_ask.set()
        may_end.set()
        pool.shutdown()


def test_early_calls_are_shared_per_key_until_forgotten() -> None:
    early, pool = EarlyCalls(), ThreadPoolExecutor(2)
    release = threading.Event()
    calls: list[str] = []

    def call(key: str) -> Callable[[Callable[[], None]], Future[str]]:
        def asking(_asked: Callable[[], None]) -> str:
            calls.append(key)
            release.wait(5)
            return key

        return _begun_on(pool, asking)

    try:
        first = early.start("a", call("a"))
        assert early.start("a", call("a again")) is first
        other = early.start("b", call("b"))
        release.set()
        assert first.result(5) == "a" and other.result(5) == "b"
        assert early.start("a", call("a again")) is first  # not forgotten yet
        early.forget("a", other)  # another key's call: nothing forgotten
        early.forget("a", first)
        assert early.start("a", call("a later")).result(5) == "a later"
        assert sorted(calls) == ["a", "a later", "b"]
    finally:
        release.set()
        pool.shutdown()
