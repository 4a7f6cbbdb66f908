"""The cross-process reload lock in Redis: held as long as its holder lives, however long the
reload takes, and freed by expiry when the holder dies without releasing it."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from pkgdex.index.reloads import RedisLock

pytestmark = [pytest.mark.slow, pytest.mark.redis]

HOLDER = """
import sys, time, redis
from pkgdex.index.reloads import RedisLock
lock = RedisLock(redis.Redis.from_url(sys.argv[1]), sys.argv[2], timeout=1.0)
assert lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis[bytes]]:
    connection: redis.Redis[bytes] = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def name() -> str:
    return f"test-{uuid.uuid4().hex}:index:reload:pypi"


def test_the_lock_outlives_its_timeout_while_its_holder_lives(client: redis.Redis[bytes]) -> None:
    key = name()
    holder, other = RedisLock(client, key, timeout=0.6), RedisLock(client, key, timeout=0.6)
    assert holder.acquire()
    time.sleep(1.5)  # more than twice the timeout: only the heartbeat keeps it
    assert not other.acquire()
    holder.release()
    assert other.acquire()
    other.release()
    assert client.exists(key) == 0


def test_the_lock_of_a_killed_holder_expires(redis_url: str, client: redis.Redis[bytes]) -> None:
    key = name()
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, redis_url, key], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        time.sleep(1.5)
        assert not RedisLock(client, key).acquire(), "a live holder keeps its lock"
        process.kill()
        process.wait(10)
        time.sleep(1.2)  # the timeout runs out: no heartbeat from a dead process
        successor = RedisLock(client, key)
        assert successor.acquire()
        successor.release()
    finally:
        process.kill()
        process.wait(10)


def test_releasing_an_expired_lock_is_harmless(client: redis.Redis[bytes]) -> None:
    key = name()
    lock = RedisLock(client, key, timeout=0.3)
    assert lock.acquire()
    client.delete(key)  # as if it had expired while Redis was unreachable
    lock.release()
    successor = RedisLock(client, key)
    assert successor.acquire()
    successor.release()
