"""PEP 658/714 core metadata on the Simple API, from the upstream's own PEP 691 page.

pypi.org's JSON API, which the pull-through stores, does not say which files have their core
metadata served beside them (``<file URL>.metadata``); its Simple API does, with the hashes of
that metadata. Installers resolve with it instead of downloading every candidate wheel, so a
project's Simple page carries it:

- when a stored project's Simple page is made while some of its files' core metadata is
  unknown (NULL), the upstream's PEP 691 page for the project is asked for once. Each file it
  lists with the same sha256 takes the upstream's value (hashes, or true); every other file
  takes false: asked, and there is none. The project's revision changes, so every process
  renders the page again. The page is answered before that revision is written, as a miss
  is; the write stores it only while the project is still the revision it was matched against;
- a project pkgdex has never seen learns it before its write (which stores it with the rest):
  for its Simple page, the page is asked for first (``ask_early``), the page answered from it
  and the project's document asked for behind that answer (``firstpage``); behind a JSON API
  answer, once that answer has gone (``learn_behind``), so the project's first Simple page
  asks nothing more. ``sync`` learns it too;
- a stored project's (an import, or a learning that failed) is asked for first too
  (``ask_stored``): when it is the page of the stored serial, the page is answered from it and
  the values stored behind that answer (``firstpage``); otherwise its files are read once it
  is in, and the page made from them;
- a refresh carries the known values over to the same files (``services``), so the upstream's
  page is asked for again only when a refresh brings new files;
- when the page cannot be had (offline, the upstream failing, or a body that is not a PEP 691
  page), nothing is written and the page is answered with what is stored; that revision is
  not asked about again.

The JSON API never shows core metadata, as pypi.org's does not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from pkgdex.afteranswer import later, waiting
from pkgdex.collector import collector_paused
from pkgdex.metadata import queries, services, simple
from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.listing import UpstreamPage, read_page, values_for
from pkgdex.metadata.negotiation import V1_JSON
from pkgdex.metadata.pending import PendingWrite, UnwrittenRevision
from pkgdex.metadata.queries import FOUND, ProjectState
from pkgdex.metadata.upstream import FetchedBytes, UpstreamError, UpstreamNotFound
from pkgdex.metadata.views import (
    Carried,
    Unknown,
    has_unknown_core_metadata,
    unknown_core_metadata,
)

log = logging.getLogger(__name__)

_ASKED = "core-metadata-asked"  # memory key: this revision's unknowns were asked about
_ALL_KNOWN = "core-metadata-known"  # memory key: no file of this revision's is unknown
HEADERS = {"Accept": V1_JSON}
EARLY_SLACK_SECONDS = 1.0  # an early call may have waited for a worker before it began
# How long a stored project's files wait to be read until its page has been asked for: each
# hop of the request between threads waits up to the interpreter's switch interval (5 ms) for
# a thread that reads thousands of rows. Bounded, for a request that must first connect.
ASK_WAIT_SECONDS = 0.01

Prepare = Callable[[simple.Source], object]


def ask_early(cache: PyPICache, name: str) -> Future[UpstreamPage] | None:
    """Start asking for the upstream's page of project ``name`` (PEP 503 form) now when
    pkgdex has never seen the project: its page is then certainly needed, and may be the
    answer itself (``firstpage``). None when it may not be needed."""
    if cache.offline or cache.upstream_resting() or cache.knows(name):
        return None
    return _start(cache, name, whole=True)


def ask_stored(cache: PyPICache, state: ProjectState) -> Future[UpstreamPage] | None:
    """Start asking for the upstream's page of ``state``, a fresh stored project, when some
    of its files' core metadata is unknown and was not asked about: the page is then needed,
    and may be the answer itself (``firstpage``). None otherwise, or while a miss's write is
    pending (``complete`` learns before that write)."""
    if cache.offline or cache.upstream_resting() or not state.id or cache.pending(state):
        return None
    if _was_asked(cache, state) or not _any_unknown(cache, state):
        return None
    return _start(cache, state.name, whole=True)


def done_early(cache: PyPICache, name: str, early: Future[UpstreamPage]) -> None:
    cache.early.forget(_early_key(name), early)


def _start(cache: PyPICache, name: str, *, whole: bool = False) -> Future[UpstreamPage]:
    """The upstream's page of ``name``, asked for now or shared with whoever just did.
    ``whole``: read whole too, to be answered as it is (``firstpage``)."""
    return cache.early.start(_early_key(name), lambda asked: _fetch(cache, name, asked, whole))


def _early_key(name: str) -> str:
    return f"simple-page:{name}"


def complete(
    cache: PyPICache,
    state: ProjectState,
    early: Future[UpstreamPage] | None = None,
    prepare: Prepare | None = None,
) -> ProjectState:
    """``state``, or the project's new state once the core metadata its files lacked was asked
    of the upstream and stored. Never raises for the upstream: without an answer from it, the
    project stays as stored. ``early``: the upstream's page, already asked for; ``prepare``:
    work on a miss's view its page is rendered over (``PyPICache.page_source``), done while
    that page is awaited (a stored project's page awaits it first: ``ask_stored``).

    A project answered a moment ago and not yet stored (a miss) learns it before its write,
    which stores it with everything else; a stored one, as a new revision."""
    if cache.offline or cache.upstream_resting():
        return state
    upstream_page: UpstreamPage | None = None
    write = cache.pending(state)
    if write is not None:
        done, upstream_page = _learn_before_write(cache, state, write, early, prepare)
        if done:
            return state
    stored = cache.stored_now(state)  # a write begun meanwhile: the rows are needed
    if stored is None or _was_asked(cache, stored):
        return stored or state
    return _complete_stored(cache, stored, upstream_page, early)


def learn_behind(cache: PyPICache, write: PendingWrite) -> None:
    """Behind the answer to a miss, before its write: the core metadata its files lack, from
    the upstream's page, so that the write stores it and the project's first Simple page needs
    no upstream request of its own (``sync`` learns it too). Whatever the page says is learnt
    once: a Simple page answered meanwhile learnt it already, or shares the same request."""
    if cache.offline or cache.upstream_resting() or cache.pending(write.state) is not write:
        return
    _learn_before_write(cache, write.state, write, None)


def _learn_before_write(
    cache: PyPICache,
    state: ProjectState,
    write: PendingWrite,
    early: Future[UpstreamPage] | None,
    prepare: Prepare | None = None,
) -> tuple[bool, UpstreamPage | None]:
    """(whether nothing is left to do, the upstream's page if it was read). What the write
    learns (carried over, and from the page) it learns at once: each lesson rebuilds the view."""
    unknown, carried = _unknown_after_refresh(cache, state, write)
    upstream_page = None
    if unknown and not _was_asked(cache, state):
        # With the upstream's page already in, nothing is gained by preparing the page first:
        # it is made whole once its values are learnt, which costs less (``simple.page``).
        if prepare is not None and (early is None or not early.done()):
            prepare(write.page_source()[0])
        upstream_page = _page(cache, state, early)
    if upstream_page is not None:
        values = values_for(unknown, upstream_page.listed)
        carried.update((filename, (sha256, values[filename])) for filename, sha256 in unknown)
    if carried and not write.learn(carried):
        return False, upstream_page  # its write has begun: the stored path takes over
    return True, upstream_page


def _complete_stored(
    cache: PyPICache,
    stored: ProjectState,
    upstream_page: UpstreamPage | None,
    early: Future[UpstreamPage] | None,
) -> ProjectState:
    """``complete`` for a stored project: its files' unknown core metadata as a new revision."""
    started = None
    if upstream_page is None and early is None:
        # The page is asked for first, if it is needed: its files are read meanwhile.
        if not _any_unknown(cache, stored):
            return stored
        early = started = _start(cache, stored.name)
        cache.early.wait_asked(_early_key(stored.name), started, ASK_WAIT_SECONDS)
    try:
        view = cache.view(stored)  # of the revision stored now, if a write replaced it
        if not has_unknown_core_metadata(view):
            return view.state
        if upstream_page is None:
            assert early is not None  # begun above when neither was given
            upstream_page = _awaited(cache, stored, early)
            if upstream_page is None:
                return stored
        page = upstream_page
        return cache.flight.do(_flight_key(stored.name), lambda: _ask(cache, stored, page))
    except (UpstreamError, UpstreamNotFound) as exc:
        not_had(cache, stored, exc)
        return stored
    finally:
        if started is not None:
            done_early(cache, stored.name, started)


def _any_unknown(cache: PyPICache, stored: ProjectState) -> bool:
    """Whether some file of ``stored`` has unknown core metadata, without reading its view;
    a revision found to have none is remembered (it is asked once per request path)."""
    if cache.memory.get((stored.name, stored.revision, _ALL_KNOWN)) is not None:
        return False
    if cache.has_view(stored):
        unknown = has_unknown_core_metadata(cache.view(stored))
    else:
        with cache.engine.connect() as conn:
            unknown = queries.any_core_metadata_unknown(conn, stored)
    if not unknown:
        cache.memory.put((stored.name, stored.revision, _ALL_KNOWN), True, _size)
    return unknown


def _unknown_after_refresh(
    cache: PyPICache, state: ProjectState, write: PendingWrite
) -> tuple[Unknown, Carried]:
    """The files of a project answered before it is stored whose core metadata is unknown,
    and what the stored copy (if any) knows of others among them: the same files."""
    unknown = write.unknown()
    if not unknown or not state.id:
        return unknown, {}
    with cache.engine.connect() as conn:
        known = services.known_core_metadata(conn, state.id)
    same = {
        filename: known[filename]
        for filename, sha256 in unknown
        if filename in known and known[filename][0] == sha256
    }
    return [f for f in unknown if f[0] not in same], same


def _was_asked(cache: PyPICache, state: ProjectState) -> bool:
    return cache.memory.get((state.name, state.revision, _ASKED)) is not None


def not_had(cache: PyPICache, state: ProjectState, exc: Exception) -> None:
    """The upstream's page of ``state`` could not be had: that revision is answered as stored
    and not asked about again."""
    log.warning("no core metadata for %s from the upstream: %s", state.name, exc)
    cache.memory.put((state.name, state.revision, _ASKED), True, _size)


def _page(
    cache: PyPICache, state: ProjectState, early: Future[UpstreamPage] | None
) -> UpstreamPage | None:
    """The upstream's page of the project: ``early``'s, else asked for now; None (logged)
    when it cannot be had."""
    if early is not None:
        return _awaited(cache, state, early)
    asked = _start(cache, state.name)
    try:
        return _awaited(cache, state, asked)
    finally:
        done_early(cache, state.name, asked)


def _awaited(
    cache: PyPICache, state: ProjectState, early: Future[UpstreamPage]
) -> UpstreamPage | None:
    """The page asked for early; None (logged) when it could not be had."""
    try:
        return early.result(timeout=cache.upstream.timeout + EARLY_SLACK_SECONDS)
    except (UpstreamError, UpstreamNotFound, FutureTimeout, CancelledError) as exc:
        not_had(cache, state, exc)
        return None


def _fetch(
    cache: PyPICache, name: str, asked: Callable[[], None] | None = None, whole: bool = False
) -> Future[UpstreamPage]:
    """The upstream's page of ``name``, read as it comes in (on the transfer's thread)."""
    url = f"{cache.base_url}/simple/{quote(name)}/"

    def read(fetched: FetchedBytes) -> UpstreamPage:
        with collector_paused():  # a thousand files' values, no cycles among them
            return read_page(fetched.body, url, whole=whole)

    return cache.upstream.start_bytes(url, read, headers=HEADERS, on_sent=asked)


def _ask(cache: PyPICache, seen: ProjectState, upstream_page: UpstreamPage) -> ProjectState:
    """Inside the flight: store what the upstream's page (``upstream_page``) says of the files,
    unless another caller or process did meanwhile."""
    state = cache.read_state(seen.name)
    if state is None or state.status != FOUND:
        return seen
    if state.revision != seen.revision:  # completed meanwhile, or refreshed: judged anew
        return state
    view = cache.view(state)
    unknown = unknown_core_metadata(view)
    if not unknown:
        return state
    values = values_for(unknown, upstream_page.listed)
    new = replace(state, revision=services.new_revision())
    # Answered before it is written: writing 1,000 files' values took a third of a large
    # project's first page. The flight stays held until the write ends, so nobody in this
    # process (or, through Redis, in another) asks the upstream again meanwhile.
    release = cache.flight.hold(_flight_key(state.name))
    # Nobody waiting for an answer (the CLI's sync): written now, and a failure is raised.
    raising = waiting() is None
    unwritten = UnwrittenRevision(
        new, view, values, lambda: _write(cache, unwritten, state.revision, release, raising)
    )
    cache.answering_unwritten(unwritten)
    later(unwritten.run)
    return new


def _write(
    cache: PyPICache,
    unwritten: UnwrittenRevision,
    based_on: str,
    release: Callable[[], None],
    raising: bool,
) -> None:
    """Store what ``unwritten`` was answered with, unless the project changed since its files
    were read (the values were matched against those files): then the next request asks
    again. A failure is logged, and also raised when ``raising``."""
    state, stored = unwritten.state, None
    try:
        with cache.engine.begin() as conn:
            stored = services.add_core_metadata(
                conn, state.id, unwritten.values, revision=state.revision, based_on=based_on
            )
        if stored is None:
            log.warning("%s changed before its core metadata was stored", state.name)
    except Exception:
        log.exception("could not store the core metadata of %s", state.name)
        if raising:
            raise
    finally:
        cache.written(unwritten, stored is not None)
        release()


def _flight_key(name: str) -> str:
    return f"pypi-core-metadata:{name}"


def _size(_value: Any) -> int:
    return 100
