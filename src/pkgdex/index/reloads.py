"""Background reloads of the name index: the remote ``/rebuild`` and the cold-start bootstrap.

A reload runs in a thread, so the server keeps answering from the old index until the load
swaps the new one in (loads are atomic: a failed or cancelled one leaves the old index). One
reload per ecosystem runs at a time, across every server process: the lock lives in Redis when
it is configured, else in the database (see :mod:`pkgdex.index.reload_locks`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis
from sqlalchemy import Engine

from pkgdex.config import Settings
from pkgdex.index import jobs
from pkgdex.index.queries import ECOSYSTEMS
from pkgdex.index.reload_locks import RedisLock, ReloadLock, database_lock

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
Job = Callable[[Progress], object]


class ReloadRunningError(Exception):
    """A reload of this ecosystem is already running (here or in another process)."""


class NoReloadSourceError(Exception):
    """Nothing to reload from: no configured source, and upstream calls are off."""


class ReloadCancelledError(Exception):
    """The server is shutting down; the load stops and the old index stays."""


@dataclass
class ReloadState:
    """What this process knows about its latest reload of one ecosystem."""

    running: bool = False
    reason: str = ""
    started: datetime | None = None
    finished: datetime | None = None
    error: str | None = None
    report: object | None = None
    done: threading.Event = field(default_factory=threading.Event)


class IndexReloads:
    """Starts, tracks and stops this process's background reloads."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._redis = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
        self._locks = {eco: self._make_lock(eco) for eco in ECOSYSTEMS}
        self.states = {eco: ReloadState() for eco in ECOSYSTEMS}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def _make_lock(self, ecosystem: str) -> ReloadLock:
        if self._redis is None:
            return database_lock(self.engine, f"index-reload-{ecosystem}")
        return RedisLock(self._redis, f"{self.settings.redis_prefix}:index:reload:{ecosystem}")

    def rebuild(self, ecosystem: str) -> ReloadState:
        """Reload from ``PKGDEX_INDEX_SOURCES`` (or sync from upstream when none is named)."""
        return self.start(ecosystem, self.settings.index_sources.get(ecosystem), "rebuild")

    def bootstrap(self) -> None:
        """Load every ``PKGDEX_INDEX_BOOTSTRAP`` source; another process may already be at it."""
        for ecosystem, source in self.settings.index_bootstrap.items():
            try:
                self.start(ecosystem, source, "bootstrap")
            except ReloadRunningError:
                log.info("%s index: another process is already loading it", ecosystem)

    def start(self, ecosystem: str, source: str | None, reason: str) -> ReloadState:
        job = self._job(ecosystem, source)
        lock = self._locks[ecosystem]
        if not lock.acquire():
            raise ReloadRunningError(ecosystem)
        state = ReloadState(running=True, reason=reason, started=datetime.now(UTC))
        self.states[ecosystem] = state
        thread = threading.Thread(
            target=self._run,
            args=(ecosystem, job, lock, state),
            name=f"index-{reason}-{ecosystem}",
            daemon=True,  # a load killed at exit leaves the old index: loads are atomic
        )
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return state

    def _job(self, ecosystem: str, source: str | None) -> Job:
        if source is not None:
            return lambda progress: jobs.load_index(
                self.engine, ecosystem, source, progress=progress
            )
        if self.settings.offline:
            raise NoReloadSourceError(
                f"no source for {ecosystem} in PKGDEX_INDEX_SOURCES and PKGDEX_OFFLINE is set"
            )
        return lambda progress: jobs.sync_index(
            self.engine, self.settings, ecosystem, progress=progress
        )

    def _run(self, eco: str, job: Job, lock: ReloadLock, state: ReloadState) -> None:
        log.info("%s index: %s started", eco, state.reason)
        try:
            state.report = job(self._progress)
            log.info("%s index: %s finished: %s", eco, state.reason, state.report)
        except Exception as exc:  # the old index keeps serving; say why in the log and state
            state.error = f"{exc.__class__.__name__}: {exc}"
            log.exception("%s index: %s failed; the old index keeps serving", eco, state.reason)
        finally:
            lock.release()
            state.running, state.finished = False, datetime.now(UTC)
            state.done.set()

    def _progress(self, _rows: int) -> None:
        if self._stopping.is_set():
            raise ReloadCancelledError("server shutting down")

    def bootstrap_failed(self, ecosystem: str) -> bool:
        state = self.states[ecosystem]
        return state.reason == "bootstrap" and state.error is not None

    def wait(self, ecosystem: str, timeout: float) -> bool:
        """Block until this process's latest reload of ``ecosystem`` ends (True if it did)."""
        state = self.states[ecosystem]
        return not state.running or state.done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Cancel running reloads (their loads roll back) and let their threads finish."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        if self._redis is not None:
            self._redis.close()
