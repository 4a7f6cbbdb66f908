"""The cross-process reload locks: held as long as the holder lives, however long the reload
takes, and freed when the holder dies without releasing it (Redis by expiry; the database
locks at once, with the holder's file descriptor or session)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from pkgdex.db import make_engine
from pkgdex.index.reload_locks import RedisLock, database_lock

pytestmark = pytest.mark.slow

HOLDER = """
import sys, time, redis
from pkgdex.db import make_engine
from pkgdex.index.reload_locks import RedisLock, database_lock
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


@pytest.mark.redis
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


@pytest.mark.redis
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


@pytest.mark.redis
def test_releasing_an_expired_lock_is_harmless(client: redis.Redis[bytes]) -> None:
    key = name()
    lock = RedisLock(client, key, timeout=0.3)
    assert lock.acquire()
    client.delete(key)  # as if it had expired while Redis was unreachable
    lock.release()
    successor = RedisLock(client, key)
    assert successor.acquire()
    successor.release()


DATABASE_HOLDER = """
import sys, time
from pkgdex.db import make_engine
from pkgdex.index.reload_locks import database_lock
lock = database_lock(make_engine(sys.argv[1]), sys.argv[2])
assert lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def test_the_database_lock_holds_across_processes_and_dies_with_its_holder(
    database_url: str,
) -> None:
    lock_name = f"test-{uuid.uuid4().hex[:8]}"
    engine = make_engine(database_url)
    process = subprocess.Popen(
        [sys.executable, "-c", DATABASE_HOLDER, database_url, lock_name],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        assert not database_lock(engine, lock_name).acquire()
        other = database_lock(engine, f"{lock_name}-other")
        assert other.acquire()  # other names (ecosystems) are independent
        other.release()
        process.kill()
        process.wait(10)
        deadline = time.monotonic() + 10  # PostgreSQL notices the closed session promptly
        successor = database_lock(engine, lock_name)
        while not successor.acquire():
            assert time.monotonic() < deadline, "the dead holder's lock was never freed"
            time.sleep(0.05)
        assert not database_lock(engine, lock_name).acquire()
        successor.release()
        again = database_lock(engine, lock_name)
        assert again.acquire()
        again.release()
    finally:
        process.kill()
        process.wait(10)
        engine.dispose()
