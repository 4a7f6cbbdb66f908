"""The PyPI pull-through: keep a usable copy of a project stored, refreshing it from the upstream
when it is missing or older than the TTL, and fall back to the stale copy when the upstream fails.

Reads cost one primary-key lookup of the project's bookkeeping: everything rendered from a
project is cached in memory per (project, revision), and the revision changes whenever stored
content does, so every process notices another process's refresh.

A miss answers before it stores: the answer is made from the upstream's document and the
write follows once the response has gone (``pending.py``), with the single flight held until
it commits, so nobody misses in between. A failed write is logged and leaves the stored copy
as it was; the next request simply misses again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import quote

import orjson
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from pkgdex.afteranswer import later, waiting
from pkgdex.collector import Pause, collector_paused
from pkgdex.config import Settings
from pkgdex.metadata import queries, services, simple, views
from pkgdex.metadata.answered import Received, answer, checked_document
from pkgdex.metadata.arriving import Arriving
from pkgdex.metadata.documents import PyPIDocument
from pkgdex.metadata.memory import MemoryCache, StateMemo
from pkgdex.metadata.pending import PendingWrite, UnwrittenRevision
from pkgdex.metadata.pullthrough import CachePolicy, EarlyCalls, SingleFlight
from pkgdex.metadata.queries import FOUND, MISSING, ProjectState, ProjectView
from pkgdex.metadata.render import Rendered
from pkgdex.metadata.upstream import (
    Upstream,
    UpstreamError,
    UpstreamNotFound,
    parse_json,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
NewProjectHook = Callable[[Engine, PyPIDocument], None]
BeforeWriteHook = Callable[["PyPICache", PendingWrite], None]
UPSTREAM_BACKOFF_SECONDS = 10.0
WRITE_WAIT_SECONDS = 5.0


class NotFound(Exception):  # noqa: N818 (answered as PyPI's 404)
    """No such project or release (upstream said so, or the cache knows nothing offline)."""


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
    # Run behind a miss's answer, before its write, for what the write should store with it.
    before_write: BeforeWriteHook | None = None
    _states: StateMemo = field(default_factory=StateMemo)
    _pending: dict[str, PendingWrite] = field(default_factory=dict)  # answered, not stored
    # New revisions of stored projects, answered before their write (``coremetadata``).
    _unwritten: dict[str, UnwrittenRevision] = field(default_factory=dict)
    _upstream_down_until: float = 0.0
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="pkgdex-name-index")
    )
    early: EarlyCalls = field(default_factory=EarlyCalls)  # upstream pages asked for ahead
    # Misses left for after an answer made without them (``firstpage``), until they end.
    _behind: set[threading.Event] = field(default_factory=set)

    @classmethod
    def create(
        cls,
        settings: Settings,
        engine: Engine,
        upstream: Upstream,
        flight: SingleFlight,
        on_new_project: NewProjectHook | None = None,
        before_write: BeforeWriteHook | None = None,
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
            before_write=before_write,
        )

    def project(self, name: str, *, page: bool = False) -> tuple[ProjectState, bool]:
        """A stored, found project (PEP 503 ``name``) and whether the copy is stale. ``page``:
        for its Simple page, which a miss then begins ordering while the releases arrive."""
        pending = self._pending.get(name)
        if pending is not None and time.monotonic() - pending.started > WRITE_WAIT_SECONDS:
            # Its answer never ran the write (a response that failed to send): run it now
            # rather than hold the flight, and keep answering the unstored copy, for ever.
            self._finish_behind(pending)
        unwritten = self._unwritten.get(name)
        if unwritten is not None and time.monotonic() - unwritten.started > WRITE_WAIT_SECONDS:
            unwritten.run()  # the same, for a revision answered before its write
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
            fresh = self.flight.do(f"pypi:{name}", lambda: self._refresh_miss(name, state, page))
        except UpstreamError as exc:
            if exc.upstream_down:
                # Serve stale copies at once for a while instead of making every request wait
                # for a failing upstream again (at most the TTL: a TTL of 0 asks every time).
                # Not for one unusable document: other projects' answers may be fine.
                backoff = min(UPSTREAM_BACKOFF_SECONDS, self.policy.ttl)
                self._upstream_down_until = time.monotonic() + backoff
            if copy is not None:
                return copy, True
            raise
        return _found(fresh), False

    def known_fresh(self, name: str) -> ProjectState | None:
        """The project's state when memory alone says it is stored and fresh (no I/O), so an
        answer can be given without leaving the event loop; None when that needs the store."""
        state = self._states.recent(name)
        if state is None:
            return None
        fresh = self.offline or self.policy.is_fresh(state.fetched_at)
        return state if fresh and state.status == FOUND else None

    def refresh(self, name: str, *, force: bool = False) -> ProjectState:
        """Fetch ``name`` from the upstream unless another caller just did; store the answer
        before returning (the CLI's sync)."""
        return self._refresh(name, self.read_state(name), force=force, arriving=None)

    def _refresh_miss(self, name: str, seen: ProjectState | None, page: bool) -> ProjectState:
        """``refresh`` for a request, inside its single flight: the answer does not wait for
        the write. Through Redis another process may have stored the project while this one
        waited for the lock, so the store is asked again; otherwise this process's memory
        knows what it stored itself."""
        if self.flight.shared:
            state = self.read_state(name)
        else:
            last = self._states.last(name)
            state = last if last is not None else seen
        # Its releases are checked while they arrive; it is answered before its write.
        return self._refresh(name, state, force=False, arriving=Arriving(ordered=page))

    def _refresh(
        self, name: str, state: ProjectState | None, *, force: bool, arriving: Arriving | None
    ) -> ProjectState:
        """``arriving``: for a miss, answered before its write; None for the CLI's refresh,
        stored before it returns."""
        if (
            not force
            and state is not None
            and self.policy.is_fresh(state.fetched_at, negative=state.status == MISSING)
        ):
            self._states.remember(state)
            return state
        # Paused from the fetch until the document is let go of (collector.py), and for a
        # miss until its answer has gone: the collections its objects set off, run before
        # that, would delay the answer by milliseconds.
        pause = Pause()
        try:
            return self._fetch(name, state, arriving)
        finally:
            if arriving is not None:
                later(pause.end)  # now, when nobody waits for an answer
            else:
                pause.end()

    def _fetch(
        self, name: str, state: ProjectState | None, arriving: Arriving | None
    ) -> ProjectState:
        url = f"{self.base_url}/pypi/{quote(name)}/json"
        validator = state.upstream_etag if state and state.status == FOUND else None
        headers = {"If-None-Match": validator} if validator else None
        try:
            fetched = self.upstream.get_bytes(
                url, headers=headers, on_chunk=None if arriving is None else arriving.feed
            )
        except UpstreamNotFound:
            with self.engine.begin() as conn:
                services.mark_missing(conn, name, fetched_at=time.time())
            return self.reread(name)
        if fetched.status == 304 and state is not None:
            with self.engine.begin() as conn:
                services.touch(conn, state.id, fetched_at=time.time())
            return self.reread(name)
        etag = fetched.validator
        if arriving is not None:
            return self._answer_then_store(fetched.body, url, name, etag, state, arriving)
        view = self.store(
            checked_document(parse_json(fetched.body, url), name, project=True), etag=etag
        )
        assert view is not None, "a project document always yields its view"
        return view.state

    def _answer_then_store(
        self,
        body: bytes,
        url: str,
        name: str,
        etag: str | None,
        old: ProjectState | None,
        arrived: Arriving,
    ) -> ProjectState:
        """Answer from the upstream's document ``body`` (from ``url``) now and store it once
        the answer has gone (``answered.py``).

        The flight's key stays held until the write commits, so requests meanwhile share
        this answer instead of missing again (in other processes too, through the Redis
        lock). A failed write is logged and leaves the stored copy as it was; this process
        forgets the unstored revision, so the next request simply misses again.
        """
        project_id = old.id if old is not None else 0  # 0: no row yet (unused until stored)
        received = Received(body, url, name, etag, project_id, time.time(), services.new_revision())
        made = answer(received, self._known_infos(old), arrived)
        state, write = made.state, made.write
        if made.rendered is not None:
            self.memory.put((name, state.revision, "json"), made.rendered, _rendered_size)
        self._pending[name] = write
        self._states.remember(state)
        write.release = self.flight.hold(f"pypi:{name}")
        after = waiting()
        if after is None:  # nobody waits for an answer (tests, scripts): store now
            try:
                self._store_behind(write)
            finally:
                write.release()
        else:
            if self.before_write is not None:
                after(self.before_write, self, write)
            after(self._finish_behind, write)
        return state

    def _finish_behind(self, write: PendingWrite) -> None:
        try:
            self._store_behind(write)
        except Exception:
            name = write.state.name
            log.exception("could not store %s; the next request asks the upstream again", name)
        finally:
            write.release()

    def _store_behind(self, write: PendingWrite) -> None:
        """Store ``write`` unless it already was (a release stored meanwhile stored it first)."""
        if not write.claim():
            return
        state = write.state
        write.keep = None  # the answer's decoded document: freed here, behind the answer
        try:
            with collector_paused():  # thousands of rows' values, no cycles among them
                # The view is not kept: the answer was rendered already, and a view held for
                # surfaces nobody has asked for yet is thousands of objects that made each
                # later miss slower (0.7 ms at 200 misses). ``view`` loads it when needed.
                doc, learnt = write.document(), write.learnt
                try:
                    stored = self._store_once(doc, state.upstream_etag, state, learnt)
                except IntegrityError:  # another process stored the new project first
                    stored = self._store_once(doc, state.upstream_etag, state, learnt)
        except Exception:
            self._settle(state, None)
            raise
        finally:
            write.done.set()
        self._settle(state, replace(state, id=stored.project_id))
        if stored.is_new and self.on_new_project is not None:
            self.background.submit(self._tell_name_index, doc)

    def stored_now(self, state: ProjectState) -> ProjectState | None:
        """``state`` as stored, its write run now if it was answered before being stored (for
        work on the stored rows); None when that write failed or was overtaken."""
        write = self.pending(state)
        if write is not None:
            self._write_now(write)
        elif state.id:
            return state
        stored = self.read_state(state.name)
        return stored if stored is not None and stored.revision == state.revision else None

    def _write_now(self, write: PendingWrite) -> None:
        """Run ``write`` here, or wait for it where it is under way; its failure is logged
        (the next request misses again)."""
        try:
            self._store_behind(write)  # returns at once when the write is under way
        except Exception:
            log.exception("could not store %s; the next request misses again", write.state.name)
        write.done.wait(WRITE_WAIT_SECONDS)

    def pending(self, state: ProjectState) -> PendingWrite | None:
        """The write of ``state`` when it was answered and is not stored yet."""
        write = self._pending.get(state.name)
        return write if write is not None and write.state.revision == state.revision else None

    def has_view(self, state: ProjectState) -> bool:
        """Whether :meth:`view` of ``state`` needs no read of the store."""
        return self._unstored(state) is not None or self.memory.get(_view_key(state)) is not None

    def answering_unwritten(self, unwritten: UnwrittenRevision) -> None:
        """Answer ``unwritten``, a new revision of a stored project, in this process until its
        write ends (:meth:`written`)."""
        self._unwritten[unwritten.state.name] = unwritten
        self._states.remember(unwritten.state)

    def written(self, unwritten: UnwrittenRevision, stored: bool) -> None:
        """The write of ``unwritten`` (see :meth:`answering_unwritten`) has ended. When it was
        ``stored``, its view is remembered (built here, behind the answer); else this process
        forgets the revision, so the next request reads the store."""
        name = unwritten.state.name
        if stored:
            self.keep_view(unwritten.view())
        if self._unwritten.get(name) is unwritten:
            del self._unwritten[name]
        if not stored:
            self._states.settle(name, unwritten.state.revision, None)

    def keep_view(self, view: ProjectView) -> None:
        """Remember ``view`` as what its revision holds, so its answers need no read."""
        self.memory.put(_view_key(view.state), view, _view_size)

    def upstream_resting(self) -> bool:
        """Whether the upstream failed a moment ago and is being spared (stale copies answer)."""
        return time.monotonic() < self._upstream_down_until

    def miss_later(self, fn: Callable[[], object]) -> None:
        """Run ``fn``, a miss left for after an answer made without it (``firstpage``), once
        that answer has gone; :meth:`wait_for_writes` waits for it too."""
        ended = threading.Event()
        self._behind.add(ended)

        def run() -> None:
            try:
                fn()
            finally:
                self._behind.discard(ended)
                ended.set()

        later(run)

    def wait_for_writes(self, timeout: float = WRITE_WAIT_SECONDS) -> None:
        """Wait until the projects this process answered before storing them are stored, for
        answers that list the store (``/simple/``): a client that was just answered a project
        finds it there too."""
        deadline = time.monotonic() + timeout
        for ended in list(self._behind):
            ended.wait(max(deadline - time.monotonic(), 0))
        for write in list(self._pending.values()):
            write.done.wait(max(deadline - time.monotonic(), 0))

    def _settle(self, pending: ProjectState, stored: ProjectState | None) -> None:
        """After a write behind: remember the stored state, or forget the unstored one."""
        name = pending.name
        write = self._pending.get(name)
        if write is not None and write.state.revision == pending.revision:
            del self._pending[name]
        self._states.settle(name, pending.revision, stored)

    def _known_infos(self, old: ProjectState | None) -> dict[str, dict[str, Any]]:
        """The releases' own infos already stored for ``old`` (kept by a refresh)."""
        if old is None or old.status != FOUND:
            return {}
        cached = self.memory.get(_view_key(old))
        if isinstance(cached, ProjectView):
            return {r.version: r.info for r in cached.releases if r.info is not None}
        with self.engine.connect() as conn:
            known = services.known_infos(conn, old.id)
        return {version: orjson.loads(info) for version, info in known.items()}

    def refresh_release(self, name: str, version: str) -> None:
        """Fetch one release's own document (its ``info`` differs from the latest's)."""
        url = f"{self.base_url}/pypi/{quote(name)}/{quote(version)}/json"
        fetched = self.upstream.get_bytes(url)
        self.store(checked_document(parse_json(fetched.body, url), name, project=False))

    def store(self, doc: PyPIDocument, *, etag: str | None = None) -> ProjectView | None:
        """Store ``doc`` in one transaction; remember what was written so the first answer
        needs no read back; tell the name index about new projects after answering."""
        pending = self._pending.get(doc.canonical_name)
        if pending is not None:
            # The project answered before this: its write goes first, even when under way on
            # another thread. A release written before it would make a stale project row,
            # whose refresh waits on that write's flight and gets its copy, without the release.
            self._write_now(pending)
        try:
            stored = self._store_once(doc, etag)
        except IntegrityError:
            # Another process stored the same new project between our read and our insert
            # (possible without Redis locks); the retry finds its row and replaces it.
            stored = self._store_once(doc, etag)
        if stored.view is not None:
            self.keep_view(stored.view)
            self._states.remember(stored.view.state)
        else:
            self._states.forget(doc.canonical_name)  # a new revision: read it next time
        if stored.is_new and self.on_new_project is not None:
            later(self.background.submit, self._tell_name_index, doc)
        return stored.view

    def _store_once(
        self,
        doc: PyPIDocument,
        etag: str | None,
        answered: ProjectState | None = None,
        learnt: views.Carried | None = None,
    ) -> services.Stored:
        """Store ``doc`` in one transaction: as ``answered`` (its revision and time), when an
        answer was already made from it, else as a new revision returning the view."""
        with self.engine.begin() as conn:
            if answered is None:
                return services.store_document(conn, doc, fetched_at=time.time(), etag=etag)
            state = answered
            return services.store_document(
                conn,
                doc,
                fetched_at=state.fetched_at,
                etag=etag,
                revision=state.revision,
                with_view=False,
                learnt=learnt,
            )

    def _tell_name_index(self, doc: PyPIDocument) -> None:
        assert self.on_new_project is not None
        try:
            self.on_new_project(self.engine, doc)
        except Exception:  # the name index is a courtesy; never fail the answer for it
            log.exception("could not record %s in the name index", doc.info.name)

    def close(self) -> None:
        self.background.shutdown(wait=True)

    def knows(self, name: str) -> bool:
        """Whether the project has been stored (found or not) or is being answered."""
        return self._state(name) is not None or name in self._pending

    def view(self, state: ProjectState) -> ProjectView:
        """``state``'s releases and files; when a write has replaced that revision since
        ``state`` was read, the view of the revision stored now (its ``state`` says which):
        a view is only ever remembered under the revision its rows are."""
        unstored = self._unstored(state)
        if unstored is not None:
            return unstored.view()  # its write follows the answer: not in the store yet
        if state.id == 0:  # answered before its project had a row; its write has ended since
            state = self._stored_as(state)
        try:
            return self.memory.get_or_make(_view_key(state), self._loader(state), _view_size)
        except queries.RevisionChanged:
            current = self.read_state(state.name)
            if current is None or current.id != state.id:
                raise NotFound(state.name) from None
            self._states.remember(current)
            return self.view(current)

    def _loader(self, state: ProjectState) -> Callable[[], ProjectView]:
        def load() -> ProjectView:
            # Thousands of rows' values, no cycles among them (collector.py)
            with collector_paused(), self.engine.connect() as conn:
                return queries.load_project(conn, state)

        return load

    def page_source(self, state: ProjectState) -> tuple[simple.Source, dict[str, Any] | None]:
        """What ``state``'s Simple page is rendered from: its view and None, or, for a revision
        answered before its write, what it is without the core metadata learnt for its files
        (the revision it was before, or a miss's exact document) and that metadata."""
        unstored = self._unstored(state)
        if unstored is not None:
            return unstored.page_source()
        return self.view(state), None

    def _unstored(self, state: ProjectState) -> PendingWrite | UnwrittenRevision | None:
        """What answers ``state`` while it is not in the store yet: a miss's write, or a
        stored project's new revision, either answered before its write."""
        pending = self.pending(state)
        if pending is not None:
            return pending
        unwritten = self._unwritten.get(state.name)
        return unwritten if unwritten and unwritten.state.revision == state.revision else None

    def _stored_as(self, answered: ProjectState) -> ProjectState:
        """``answered`` as its write stored it (with the row's id), read from the store if
        this process no longer remembers it; a 503 when the write failed (the next request
        misses again)."""
        last = self._states.last(answered.name)
        if last is not None and last.revision == answered.revision and last.id:
            return last
        stored = self.read_state(answered.name)
        if stored is None or stored.status != FOUND:
            message = f"{answered.name!r} could not be stored; ask again"
            raise UpstreamError(503, "not_stored", message)
        return stored

    def _state(self, name: str) -> ProjectState | None:
        """The project's bookkeeping, read at most once a second per name and process
        (``StateMemo``)."""
        now = time.monotonic()
        state = self._states.recent(name, now)
        if state is None:
            state = self.read_state(name)
            if state is not None:
                self._states.remember(state, now)
        return state

    def read_state(self, name: str) -> ProjectState | None:
        with self.engine.connect() as conn:
            return queries.project_state(conn, name)

    def reread(self, name: str) -> ProjectState:
        with self.engine.connect() as conn:
            state = queries.project_state(conn, name)
        assert state is not None, "stored in this call"
        self._states.remember(state)
        return state


def _rendered_size(rendered: Rendered) -> int:
    return len(rendered.body) + 200


def _view_key(state: ProjectState) -> tuple[str, str, str]:
    return (state.name, state.revision, "view")


def _view_size(view: ProjectView) -> int:
    return 400 * sum(len(r.files) + 1 for r in view.releases) + 400


def _found(state: ProjectState) -> ProjectState:
    if state.status != FOUND:
        raise NotFound(state.name)
    return state
