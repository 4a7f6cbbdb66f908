"""Locks that let one index reload per ecosystem run at a time across server processes.

Every lock here is freed when its holder dies, so a killed server never blocks later reloads:
- in Redis (when configured) the key expires unless a heartbeat keeps it alive;
- on SQLite, an ``flock`` on a file beside the database, which the OS drops with the process;
- on PostgreSQL, a session advisory lock, which the server drops with the connection.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from pathlib import Path
from typing import Protocol

import redis
from redis.exceptions import LockError
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from pkgdex.db import is_sqlite

log = logging.getLogger(__name__)


class ReloadLock(Protocol):
    def acquire(self) -> bool:
        """Take the lock if it is free; never wait."""
        ...

    def release(self) -> None: ...


def database_lock(engine: Engine, name: str) -> ReloadLock:
    """The lock for ``name`` shared by every process using ``engine``'s database."""
    if not is_sqlite(engine):
        return AdvisoryLock(engine, name)
    database = engine.url.database
    if not database or database == ":memory:":
        return LocalLock()  # an in-memory database is private to this process anyway
    path = Path(database).expanduser()
    return FileLock(path.with_name(f"{path.name}.{name}.lock"))


class LocalLock:
    """One holder within this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        return self._lock.acquire(blocking=False)

    def release(self) -> None:
        self._lock.release()


class FileLock:
    """One holder among the processes sharing a SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class AdvisoryLock:
    """One holder among the sessions of a PostgreSQL schema (advisory locks are per database,
    so the key includes the schema: test sessions and deployments sharing a database differ)."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine, self.name = engine, name
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        conn = self.engine.connect()
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(hashtextextended(current_schema() || :n, 0))"),
                {"n": self.name},
            ).scalar_one()
            conn.commit()  # a session lock outlives the transaction; don't sit idle in one
        except SQLAlchemyError:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(
                text("SELECT pg_advisory_unlock(hashtextextended(current_schema() || :n, 0))"),
                {"n": self.name},
            )
            conn.commit()
        except SQLAlchemyError:
            # The session is gone, and its lock with it; never pool a connection in doubt.
            log.warning("releasing the %s advisory lock failed; dropping the connection", self.name)
            conn.invalidate()
        finally:
            conn.close()


class RedisLock:
    """One holder among every process using the same Redis and key prefix.

    The Redis key expires after ``timeout`` seconds so a holder that dies (SIGKILL, lost host)
    cannot block reloads forever; while the holder lives, a heartbeat keeps the key alive.
    """

    def __init__(self, client: redis.Redis[bytes], name: str, timeout: float = 30.0) -> None:
        # thread_local=False: the lock is taken by a request thread, released by the worker.
        self._lock = client.lock(name, timeout=timeout, blocking=False, thread_local=False)
        self._timeout = timeout
        self._stop = threading.Event()

    def acquire(self) -> bool:
        if not self._lock.acquire(blocking=False):
            return False
        self._stop = threading.Event()
        threading.Thread(
            target=self._keep_alive, args=(self._stop,), name="index-reload-lock", daemon=True
        ).start()
        return True

    def _keep_alive(self, stop: threading.Event) -> None:
        while not stop.wait(self._timeout / 3):
            try:
                self._lock.reacquire()
            except (LockError, redis.RedisError):
                log.exception("lost the index reload lock %s", self._lock.name)
                return

    def release(self) -> None:
        self._stop.set()
        try:
            self._lock.release()
        except (LockError, redis.RedisError):
            log.warning("the index reload lock %s had already expired", self._lock.name)
