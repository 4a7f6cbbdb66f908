"""The npm pull-through cache: serve the stored packument, refresh it from the upstream when it
is older than the TTL, remember upstream 404s for the negative TTL, and keep answering with the
stale copy when the upstream fails. Every write is one statement, so a failed fetch never leaves
a half-written document behind.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from fastapi import Request
from sqlalchemy import Connection, Engine, Insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from pkgdex.afteranswer import AfterAnswer, Later, now
from pkgdex.collector import Pause
from pkgdex.config import Settings
from pkgdex.index import jobs as index_jobs
from pkgdex.metadata.pullthrough import CachePolicy, SingleFlight
from pkgdex.metadata.upstream import Upstream, UpstreamError, UpstreamNotFound, malformed
from pkgdex.npmregistry import decoded, queries
from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry.documents import Documents
from pkgdex.npmregistry.memory import AnswerMemory
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


@dataclass(frozen=True)
class NpmRegistry:
    """The pull-through cache of packuments; one is made per request from the app's parts.

    When ``later`` runs work after the response (a route's), a miss answers from the fetched
    documents and stores them behind the answer, holding the single-flight key (and its Redis
    lock) until the row is committed: callers meanwhile share the answer instead of asking the
    upstream again. Otherwise (scripts, the CLI) the store comes first.
    """

    engine: Engine
    upstream: Upstream
    single_flight: SingleFlight
    policy: CachePolicy
    upstream_url: str
    later: Later = now
    memory: AnswerMemory | None = None  # the process's recent answers (a server's)

    @classmethod
    async def from_request(cls, request: Request) -> NpmRegistry:
        """For a route (async: no thread hop): a miss is stored, and the name index told,
        after the response, so a client never waits for them."""
        state = request.app.state
        return cls.from_parts(
            state.engine,
            state.upstream,
            state.single_flight,
            state.settings,
            AfterAnswer(),
            state.npm_memory,
        )

    @classmethod
    def from_parts(
        cls,
        engine: Engine,
        upstream: Upstream,
        single_flight: SingleFlight,
        settings: Settings,
        later: Later = now,
        memory: AnswerMemory | None = None,
    ) -> NpmRegistry:
        policy = CachePolicy.from_settings(settings)
        upstream_url = settings.npm_upstream.rstrip("/")
        return cls(engine, upstream, single_flight, policy, upstream_url, later, memory)

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
        refresh = functools.partial(self._refresh, name, force=False, body=body)
        refreshed = self.single_flight.do(f"npm:{name}", refresh)
        return self._with_body(refreshed, body)

    def servable(self, stored: queries.StoredPackument) -> bool:
        """Whether a stored row is answered as it is (fresh, or offline), as ``packument`` does."""
        return not stored.negative and (self.upstream.offline or self._fresh(stored))

    def sync(self, name: str) -> Answer:
        """Fetch ``name`` from the upstream now, whatever the cache holds."""
        return self.single_flight.do(f"npm:{name}", lambda: self._refresh(name, force=True))

    def _with_body(self, answer: Answer, body: queries.Body) -> Answer:
        # Callers sharing one refresh may want different documents: each takes its own.
        if body is None:
            return answer
        if answer.fetched is not None:
            try:
                document = answer.fetched.body(body)
            except pk.InvalidPackumentError as exc:  # its install-v1 form cannot be made
                raise _invalid(exc) from exc
            fetched = replace(answer.stored, body=document)
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

    def _refresh(self, name: str, *, force: bool, body: queries.Body = None) -> Answer:
        # Re-read: another process may have refreshed it while this one waited for the lock.
        stored = self._stored(name, None)
        if stored is not None and not force and self._fresh(stored):
            return _served(stored)
        try:
            return self._fetch(name, stored, body)
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
        self, name: str, stored: queries.StoredPackument | None, body: queries.Body
    ) -> Answer:
        pause = Pause()  # until the decoded document is let go (see collector)
        try:
            documents = self._documents(name, stored, install_v1=body == "abbreviated")
        except BaseException:
            pause.end()
            raise
        if documents is None:  # the upstream confirmed the stored copy
            pause.end()
            with self.engine.begin() as conn:
                touch(conn, name)
            assert stored is not None
            return Answer(stored)
        if self.later is now:  # nobody waits for an answer: store first
            try:
                _finish(documents, pause)
            except pk.InvalidPackumentError as exc:
                raise _invalid(exc) from exc
            return Answer(self.save(documents, previous=stored), fetched=documents)
        release = self.single_flight.hold(f"npm:{name}")
        self.later(self._store_behind, documents, stored, release, pause)
        return Answer(documents.stored(None, time.time()), fetched=documents)

    def _documents(
        self, name: str, stored: queries.StoredPackument | None, *, install_v1: bool
    ) -> Documents | None:
        """Fetch and check the packument (None: not modified since the stored copy); the
        decode that checks it takes the install-v1 fields along when that is the answer."""
        headers = {"Accept": "application/json"}
        if stored is not None and not stored.negative and stored.upstream_etag:
            headers["If-None-Match"] = stored.upstream_etag
        url = self.packument_url(name)
        fetched = self.upstream.get_bytes(url, headers=headers)
        if fetched.status == 304 and stored is not None:
            return None
        try:
            doc = decoded.decode(fetched.body, expected_name=name, install_v1=install_v1)
        except decoded.MalformedBodyError as exc:
            raise malformed(url) from exc
        except pk.InvalidPackumentError as exc:
            raise _invalid(exc) from exc
        if doc.unpublished:
            raise UpstreamNotFound(name)
        return Documents(fetched.body, doc, fetched.validator)

    def save(
        self, documents: Documents, *, previous: queries.StoredPackument | None = None
    ) -> queries.StoredPackument:
        """Store a checked packument and tell the name index when its latest version is new."""
        with self.engine.begin() as conn:
            stored = store_documents(conn, documents)
        if _news_for_index(previous, stored):
            self.later(record_in_index, self.engine, documents)
        return stored

    def _store_behind(
        self,
        documents: Documents,
        previous: queries.StoredPackument | None,
        release: Callable[[], None],
        pause: Pause,
    ) -> None:
        """Store an answered packument, then let its single-flight key go; a failed write is
        logged and leaves any old copy, so the next request misses again."""
        try:
            _finish(documents, pause)
            with self.engine.begin() as conn:
                stored = store_documents(conn, documents)
        except (SQLAlchemyError, pk.InvalidPackumentError) as exc:
            log.warning("npm packument %s answered but not stored: %s", documents.name, exc)
            return
        finally:
            release()
        if _news_for_index(previous, stored):
            record_in_index(self.engine, documents)

    def packument_url(self, name: str) -> str:
        # npm's own clients escape the scope's slash; the registry accepts that form.
        return f"{self.upstream_url}/{quote(name, safe='@')}"


def _invalid(exc: pk.InvalidPackumentError) -> UpstreamError:
    return UpstreamError(502, "upstream_malformed", f"npm upstream: {exc}")


def _served(stored: queries.StoredPackument) -> Answer:
    if stored.negative:
        raise PackageNotFoundError(stored.name)
    return Answer(stored)


def _finish(documents: Documents, pause: Pause) -> None:
    """Make the rest of the documents and let the decoded one go, then resume the collector."""
    try:
        documents.finish()
    finally:
        pause.end()


def _news_for_index(
    previous: queries.StoredPackument | None, stored: queries.StoredPackument
) -> bool:
    return previous is None or previous.latest != stored.latest


def store_documents(conn: Connection, documents: Documents) -> queries.StoredPackument:
    """Insert or replace the packument of ``documents.name`` in one statement."""
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


def record_in_index(engine: Engine, documents: Documents) -> None:
    """Tell the name index about the package's latest version (best effort: the packument is
    stored already, and a busy index must not turn a served answer into an error)."""
    if documents.latest is None:
        return
    name, latest = documents.name, documents.latest
    try:
        index_jobs.record_seen(engine, ECOSYSTEM, name, latest, documents.summary)
    except SQLAlchemyError as exc:
        log.warning("name index not told about npm package %s: %s", name, exc)
