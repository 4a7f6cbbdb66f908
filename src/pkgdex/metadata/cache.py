"""The PyPI pull-through: keep a usable copy of a project stored, refreshing it from the upstream
when it is missing or older than the TTL, and fall back to the stale copy when the upstream fails.

Reads cost one primary-key lookup of the project's bookkeeping: everything rendered from a
project is cached in memory per (project, revision), and the revision changes whenever stored
content does, so every process notices another process's refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from pkgdex.config import Settings
from pkgdex.metadata import queries, services
from pkgdex.metadata.documents import MalformedDocumentError, PyPIDocument, parse_document
from pkgdex.metadata.pullthrough import CachePolicy, SingleFlight
from pkgdex.metadata.queries import FOUND, MISSING, ProjectState, ProjectView
from pkgdex.metadata.upstream import Upstream, UpstreamError, UpstreamNotFound

log = logging.getLogger(__name__)
T = TypeVar("T")
NewProjectHook = Callable[[Engine, PyPIDocument], None]
STATE_MEMO_SECONDS = 1.0
STATE_MEMO_ENTRIES = 100_000
UPSTREAM_BACKOFF_SECONDS = 10.0


Job = Callable[[], object]
_after_answer: ContextVar[list[Job] | None] = ContextVar("pkgdex_after_answer", default=None)


@contextmanager
def after_answer() -> Iterator[list[Job]]:
    """Collect the work an answer does not need (telling the name index about a new project)
    instead of starting it at once, so the caller starts it after the response has gone:
    started earlier, it competes with the answer for the interpreter."""
    jobs: list[Job] = []
    token = _after_answer.set(jobs)
    try:
        yield jobs
    finally:
        _after_answer.reset(token)


def run_jobs(jobs: list[Job]) -> None:
    for job in jobs:
        job()


def _later(job: Job) -> None:
    jobs = _after_answer.get()
    if jobs is None:  # no answer waiting (CLI, imports): now
        job()
    else:
        jobs.append(job)


class NotFound(Exception):  # noqa: N818 (answered as PyPI's 404)
    """No such project or release (upstream said so, or the cache knows nothing offline)."""


class MemoryCache:
    """A thread-safe LRU of values built from stored content, bounded by entries and bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries, self._max_bytes, self._bytes = max_entries, max_bytes, 0

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            value: object = hit[0]
            return value

    def get_or_make(self, key: Hashable, make: Callable[[], T], size: Callable[[T], int]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[0]  # type: ignore[no-any-return]
        value = make()
        self.put(key, value, size)
        return value

    def put(self, key: Hashable, value: T, size: Callable[[T], int]) -> None:
        cost = size(value)
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, cost)
                self._bytes += cost
            while self._items and (
                len(self._items) > self._max_entries or self._bytes > self._max_bytes
            ):
                _, (_, evicted) = self._items.popitem(last=False)
                self._bytes -= evicted


@dataclass
class PyPICache:
    """One per process (``app.state.pypi_cache``): the store, the upstream and the memory."""

    engine: Engine
    upstream: Upstream
    flight: SingleFlight
    policy: CachePolicy
    base_url: str
    offline: bool
    memory: MemoryCache
    on_new_project: NewProjectHook | None = None
    _states: dict[str, tuple[float, ProjectState]] = field(default_factory=dict)
    _upstream_down_until: float = 0.0
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="pkgdex-name-index")
    )

    @classmethod
    def create(
        cls,
        settings: Settings,
        engine: Engine,
        upstream: Upstream,
        flight: SingleFlight,
        on_new_project: NewProjectHook | None = None,
    ) -> PyPICache:
        return cls(
            engine=engine,
            upstream=upstream,
            flight=flight,
            policy=CachePolicy.from_settings(settings),
            base_url=settings.pypi_upstream.rstrip("/"),
            offline=settings.offline,
            memory=MemoryCache(max_entries=512, max_bytes=128 * 1024 * 1024),
            on_new_project=on_new_project,
        )

    def project(self, name: str) -> tuple[ProjectState, bool]:
        """A stored, found project (PEP 503 ``name``) and whether the copy is stale."""
        state = self._state(name)
        if state is not None and self.policy.is_fresh(
            state.fetched_at, negative=state.status == MISSING
        ):
            return _found(state), False
        if self.offline:
            if state is None:
                raise NotFound(name)
            return _found(state), False
        copy = state if state is not None and state.status == FOUND else None
        if copy is not None and time.monotonic() < self._upstream_down_until:
            return copy, True
        try:
            fresh = self.flight.do(f"pypi:{name}", lambda: self.refresh(name))
        except UpstreamError:
            # Serve stale copies at once for a while instead of making every request wait
            # for a failing upstream again (at most the TTL: a TTL of 0 asks every time).
            backoff = min(UPSTREAM_BACKOFF_SECONDS, self.policy.ttl)
            self._upstream_down_until = time.monotonic() + backoff
            if copy is not None:
                return copy, True
            raise
        return _found(fresh), False

    def known_fresh(self, name: str) -> ProjectState | None:
        """The project's state when memory alone says it is stored and fresh (no I/O), so an
        answer can be given without leaving the event loop; None when that needs the store."""
        memo = self._states.get(name)
        if memo is None or time.monotonic() - memo[0] >= STATE_MEMO_SECONDS:
            return None
        state = memo[1]
        fresh = self.offline or self.policy.is_fresh(state.fetched_at)
        return state if fresh and state.status == FOUND else None

    def refresh(self, name: str, *, force: bool = False) -> ProjectState:
        """Fetch ``name`` from the upstream unless another caller just did; store the answer."""
        with self.engine.connect() as conn:
            state = queries.project_state(conn, name)
        if (
            not force
            and state is not None
            and self.policy.is_fresh(state.fetched_at, negative=state.status == MISSING)
        ):
            self._remember(state)
            return state
        url = f"{self.base_url}/pypi/{quote(name)}/json"
        validator = state.upstream_etag if state and state.status == FOUND else None
        headers = {"If-None-Match": validator} if validator else None
        try:
            fetched = self.upstream.get_json(url, headers=headers)
        except UpstreamNotFound:
            with self.engine.begin() as conn:
                services.mark_missing(conn, name, fetched_at=time.time())
            return self._reread(name)
        if fetched.status == 304 and state is not None:
            with self.engine.begin() as conn:
                services.touch(conn, state.id, fetched_at=time.time())
            return self._reread(name)
        doc = _checked(fetched.data, name, project=True)
        view = self.store(doc, etag=fetched.headers.get("etag"))
        assert view is not None, "a project document always yields its view"
        return view.state

    def refresh_release(self, name: str, version: str) -> None:
        """Fetch one release's own document (its ``info`` differs from the latest's)."""
        url = f"{self.base_url}/pypi/{quote(name)}/{quote(version)}/json"
        fetched = self.upstream.get_json(url)
        self.store(_checked(fetched.data, name, project=False))

    def store(self, doc: PyPIDocument, *, etag: str | None = None) -> ProjectView | None:
        """Store ``doc`` in one transaction; remember what was written so the first answer
        needs no read back; tell the name index about new projects after answering."""
        try:
            stored = self._store_once(doc, etag)
        except IntegrityError:
            # Another process stored the same new project between our read and our insert
            # (possible without Redis locks); the retry finds its row and replaces it.
            stored = self._store_once(doc, etag)
        if stored.view is not None:
            state = stored.view.state
            self.memory.put((state.name, state.revision, "view"), stored.view, _view_size)
            self._remember(state)
        else:
            self._states.pop(doc.canonical_name, None)  # a new revision: read it next time
        if stored.is_new and self.on_new_project is not None:
            _later(lambda: self.background.submit(self._tell_name_index, doc))
        return stored.view

    def _store_once(self, doc: PyPIDocument, etag: str | None) -> services.Stored:
        with self.engine.begin() as conn:
            return services.store_document(conn, doc, fetched_at=time.time(), etag=etag)

    def _tell_name_index(self, doc: PyPIDocument) -> None:
        assert self.on_new_project is not None
        try:
            self.on_new_project(self.engine, doc)
        except Exception:  # the name index is a courtesy; never fail the answer for it
            log.exception("could not record %s in the name index", doc.info.name)

    def close(self) -> None:
        self.background.shutdown(wait=True)

    def view(self, state: ProjectState) -> ProjectView:
        def load() -> ProjectView:
            with self.engine.connect() as conn:
                return queries.load_project(conn, state)

        key = (state.name, state.revision, "view")
        return self.memory.get_or_make(key, load, _view_size)

    def _state(self, name: str) -> ProjectState | None:
        """The project's bookkeeping, read at most once a second per name and process.

        The memo only saves database reads: freshness is still judged on every request, and
        this process's own refreshes replace it at once; another process's refresh shows
        here within ``STATE_MEMO_SECONDS``.
        """
        memo = self._states.get(name)
        now = time.monotonic()
        if memo is not None and now - memo[0] < STATE_MEMO_SECONDS:
            return memo[1]
        with self.engine.connect() as conn:
            state = queries.project_state(conn, name)
        if state is not None:
            self._remember(state, now)
        return state

    def _remember(self, state: ProjectState, now: float | None = None) -> None:
        if len(self._states) > STATE_MEMO_ENTRIES:
            self._states.clear()
        self._states[state.name] = (time.monotonic() if now is None else now, state)

    def _reread(self, name: str) -> ProjectState:
        with self.engine.connect() as conn:
            state = queries.project_state(conn, name)
        assert state is not None, "stored in this call"
        self._remember(state)
        return state


def _view_size(view: ProjectView) -> int:
    return 400 * sum(len(r.files) + 1 for r in view.releases) + 400


def _found(state: ProjectState) -> ProjectState:
    if state.status != FOUND:
        raise NotFound(state.name)
    return state


def _checked(data: Any, name: str, *, project: bool) -> PyPIDocument:
    try:
        doc = parse_document(data, expected_name=name)
    except MalformedDocumentError as exc:
        message = f"the upstream sent an unusable document for {name!r}: {exc}"
        raise UpstreamError(502, "upstream_malformed", message) from exc
    if doc.is_project != project:
        raise UpstreamError(502, "upstream_malformed", f"unexpected document kind for {name!r}")
    return doc
