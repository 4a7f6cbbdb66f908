"""The npm pull-through cache: serve the stored packument, refresh it from the upstream when it
is older than the TTL, remember upstream 404s for the negative TTL, and keep answering with the
stale copy when the upstream fails. Every write is one statement, so a failed fetch never leaves
a half-written document behind.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from fastapi import BackgroundTasks, Request
from sqlalchemy import Connection, Engine, Insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from pkgdex.config import Settings
from pkgdex.index import jobs as index_jobs
from pkgdex.metadata.pullthrough import CachePolicy, SingleFlight
from pkgdex.metadata.upstream import Upstream, UpstreamError, UpstreamNotFound
from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry import queries
from pkgdex.npmregistry.documents import Documents
from pkgdex.npmregistry.models import npm_packuments

log = logging.getLogger(__name__)

ECOSYSTEM = "npm"


class PackageNotFoundError(Exception):
    """Neither the store nor the upstream has this package."""


@dataclass(frozen=True)
class Answer:
    stored: queries.StoredPackument
    stale: bool = False
    fetched: Documents | None = None  # the documents of a fetch just made, in memory


Later = Callable[..., None]  # runs a function with its arguments, now or after the response
MAX_FLIGHTS = 64  # threads that run pull-throughs (a waiting caller holds one too)
# How long a store behind an answer waits for the answer to be sent before it starts anyway.
SEND_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Early:
    """Where the leader of a miss answers before storing, and the sign that the answer has
    gone: the store waits for it, so it never competes with the answer for the interpreter."""

    variant: queries.Body
    answer: Future[Answer] = field(default_factory=Future)
    sent: threading.Event = field(default_factory=threading.Event)


def _now(fn: Callable[..., None], *args: Any) -> None:
    fn(*args)


@dataclass(frozen=True)
class NpmRegistry:
    """The pull-through cache of packuments; one is made per request from the app's parts.

    With ``flights`` (the server's), a miss answers once the document asked for is made and
    stores it behind the answer on a flight thread, which holds the single-flight entry (and
    its Redis lock) until the row is committed: a caller arriving meanwhile waits for that
    commit instead of asking the upstream again. Without, the store comes before the answer.
    """

    engine: Engine
    upstream: Upstream
    single_flight: SingleFlight
    policy: CachePolicy
    upstream_url: str
    later: Later = _now
    flights: Executor | None = None

    @classmethod
    async def from_request(cls, request: Request, background: BackgroundTasks) -> NpmRegistry:
        """For a route (async: no thread hop): work behind a miss is waited for after the
        response, so a client never waits for the store or the name index."""
        state = request.app.state
        return cls.from_parts(
            state.engine,
            state.upstream,
            state.single_flight,
            state.settings,
            background.add_task,
            state.npm_flights,
        )

    @classmethod
    def from_parts(
        cls,
        engine: Engine,
        upstream: Upstream,
        single_flight: SingleFlight,
        settings: Settings,
        later: Later = _now,
        flights: Executor | None = None,
    ) -> NpmRegistry:
        policy = CachePolicy.from_settings(settings)
        upstream_url = settings.npm_upstream.rstrip("/")
        return cls(engine, upstream, single_flight, policy, upstream_url, later, flights)

    def packument(self, name: str, body: queries.Body = "doc") -> Answer:
        """The packument of ``name``: cached when fresh, else pulled through.

        ``body`` picks the document the answer carries (None: freshness and ETag only).
        """
        stored = self._stored(name, body)
        if stored is not None and self._fresh(stored):
            return _served(stored)
        if self.upstream.offline:
            if stored is None:
                raise PackageNotFoundError(name)
            return _served(stored)
        return self._with_body(self._pull(name, body), body)

    def sync(self, name: str) -> Answer:
        """Fetch ``name`` from the upstream now, whatever the cache holds."""
        return self.single_flight.do(f"npm:{name}", lambda: self._refresh(name, force=True))

    def _pull(self, name: str, body: queries.Body) -> Answer:
        if self.flights is None:
            return self.single_flight.do(f"npm:{name}", lambda: self._refresh(name, force=False))
        early = Early(body)
        flight = self.flights.submit(self._fly, name, early)
        wait((early.answer, flight), return_when=FIRST_COMPLETED)
        if not early.answer.done():  # not the leader, or it ended before answering
            return flight.result()
        self.later(_settle, flight, early.sent)
        return early.answer.result()

    def _fly(self, name: str, early: Early) -> Answer:
        # The index is told after the commit and after the single-flight entry is let go.
        jobs: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        flying = replace(self, later=lambda fn, *args: jobs.append((fn, args)))
        try:
            refresh = lambda: flying._refresh(name, force=False, early=early)  # noqa: E731
            return self.single_flight.do(f"npm:{name}", refresh)
        finally:
            for fn, args in jobs:
                fn(*args)

    def _with_body(self, answer: Answer, body: queries.Body) -> Answer:
        # Callers sharing one refresh may want different documents: each takes its own.
        if body is None:
            return answer
        if answer.fetched is not None:
            fetched = replace(answer.stored, body=answer.fetched.body(body))
            return Answer(fetched, answer.stale, answer.fetched)
        stored = self._stored(answer.stored.name, body)
        if stored is None or stored.negative:  # unpublished upstream meanwhile
            raise PackageNotFoundError(answer.stored.name)
        return Answer(stored, answer.stale)

    def _stored(self, name: str, body: queries.Body) -> queries.StoredPackument | None:
        with self.engine.connect() as conn:
            return queries.stored_packument(conn, name, body)

    def _fresh(self, stored: queries.StoredPackument) -> bool:
        return self.policy.is_fresh(stored.fetched_at, negative=stored.negative)

    def _refresh(self, name: str, *, force: bool, early: Early | None = None) -> Answer:
        # Re-read: another process may have refreshed it while this one waited for the lock.
        stored = self._stored(name, None)
        if stored is not None and not force and self._fresh(stored):
            return _served(stored)
        try:
            return self._fetch(name, stored, early)
        except UpstreamNotFound:
            with self.engine.begin() as conn:
                store_not_found(conn, name)
            raise PackageNotFoundError(name) from None
        except UpstreamError as exc:
            if stored is None or stored.negative:
                raise
            log.warning("serving stale npm packument %s: %s", name, exc.message)
            return Answer(stored, stale=True)

    def _fetch(
        self, name: str, stored: queries.StoredPackument | None, early: Early | None
    ) -> Answer:
        headers = {"Accept": "application/json"}
        if stored is not None and not stored.negative and stored.upstream_etag:
            headers["If-None-Match"] = stored.upstream_etag
        fetched = self.upstream.get_json(self.packument_url(name), headers=headers)
        if fetched.status == 304 and stored is not None:
            with self.engine.begin() as conn:
                touch(conn, name)
            return Answer(stored)
        try:
            doc = pk.check_packument(fetched.data, expected_name=name)
        except pk.InvalidPackumentError as exc:
            raise UpstreamError(502, "upstream_malformed", f"npm upstream: {exc}") from exc
        if pk.is_unpublished(doc):
            raise UpstreamNotFound(name)
        documents = Documents.of(doc, fetched.headers.get("etag"))
        if early is None:
            return Answer(self.save(documents, previous=stored), fetched=documents)
        early.answer.set_result(
            Answer(documents.stored(early.variant, time.time()), fetched=documents)
        )
        early.sent.wait(SEND_WAIT_SECONDS)
        try:
            self.save(documents, previous=stored)
        except SQLAlchemyError as exc:  # answered already; the next request misses again
            log.warning("npm packument %s answered but not stored: %s", name, exc)
        return Answer(documents.stored(None, time.time()), fetched=documents)

    def save(
        self, documents: Documents, *, previous: queries.StoredPackument | None = None
    ) -> queries.StoredPackument:
        """Store a checked packument and tell the name index when its latest version is new."""
        with self.engine.begin() as conn:
            stored = store_documents(conn, documents)
        if previous is None or previous.latest != stored.latest:
            self.later(record_in_index, self.engine, documents.doc)
        return stored

    def packument_url(self, name: str) -> str:
        # npm's own clients escape the scope's slash; the registry accepts that form.
        return f"{self.upstream_url}/{quote(name, safe='@')}"


def _served(stored: queries.StoredPackument) -> Answer:
    if stored.negative:
        raise PackageNotFoundError(stored.name)
    return Answer(stored)


def _settle(flight: Future[Answer], sent: threading.Event) -> None:
    """After the response: start the store behind it and wait for it (so a request's work
    ends with its store)."""
    sent.set()
    try:
        flight.result()
    except Exception as exc:  # the answer has gone; callers who waited saw the error
        log.warning("npm pull-through failed after answering: %s", exc)


def store_packument(
    conn: Connection,
    doc: pk.Packument,
    *,
    upstream_etag: str | None = None,
) -> queries.StoredPackument:
    """Insert or replace the packument of ``doc['name']`` in one statement."""
    return store_documents(conn, Documents.of(doc, upstream_etag))


def store_documents(conn: Connection, documents: Documents) -> queries.StoredPackument:
    values = documents.row()
    _upsert(conn, values)
    return queries.StoredPackument(**{field: values[field] for field in _STORED_FIELDS})


_STORED_FIELDS = ("name", "status", "fetched_at", "digest", "latest", "upstream_etag")


def store_not_found(conn: Connection, name: str) -> None:
    """Remember that the upstream has no ``name`` (the negative TTL starts now)."""
    values: dict[str, Any] = {
        "name": name,
        "status": queries.NEGATIVE,
        "doc": None,
        "abbreviated": None,
        "card": None,
        "digest": None,
        "latest": None,
        "modified": None,
        "upstream_etag": None,
        "fetched_at": time.time(),
    }
    _upsert(conn, values)


def touch(conn: Connection, name: str) -> None:
    """The upstream confirmed the stored copy (304): it is fresh again."""
    statement = update(npm_packuments).where(npm_packuments.c.name == name)
    conn.execute(statement.values(fetched_at=time.time()))


def _upsert(conn: Connection, values: dict[str, Any]) -> None:
    conn.execute(_upsert_statement(conn.dialect.name), values)


@functools.cache
def _upsert_statement(dialect_name: str) -> Insert:
    # Built once, values passed as parameters: ``.values(...)`` with 400 KB blobs costs
    # several milliseconds per call in SQLAlchemy on top of the write itself.
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(npm_packuments)
    changed = {c.name: statement.excluded[c.name] for c in npm_packuments.c if c.name != "name"}
    upsert: Insert = statement.on_conflict_do_update(index_elements=["name"], set_=changed)
    return upsert


def record_in_index(engine: Engine, doc: pk.Packument) -> None:
    """Tell the name index about the package's latest version (best effort: the packument is
    stored already, and a busy index must not turn a served answer into an error)."""
    latest = pk.latest_version(doc)
    if latest is None:
        return
    try:
        index_jobs.record_seen(engine, ECOSYSTEM, doc["name"], latest, pk.summary(doc))
    except SQLAlchemyError as exc:
        log.warning("name index not told about npm package %s: %s", doc["name"], exc)
