"""What each PyPI endpoint answers, independent of HTTP: a rendered body or a redirect.

Each function is the one call its route makes. Names are checked before anything is asked of
the upstream; non-normalised names redirect to the PEP 503 form once the project is known to
exist, as pypi.org does.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from packaging.utils import canonicalize_name
from sqlalchemy import Connection

from pkgdex.collector import collector_paused
from pkgdex.metadata import coremetadata, firstpage, queries, render, simple
from pkgdex.metadata.cache import NotFound, PyPICache
from pkgdex.metadata.queries import ProjectState, ProjectView, ReleaseRow
from pkgdex.metadata.render import Rendered
from pkgdex.metadata.upstream import UpstreamError, UpstreamNotFound
from pkgdex.metadata.versions import (
    find_version,
    pick_described,
    pick_latest_stable,
    pick_latest_unstable,
)

# PEP 508 names; anything else cannot exist upstream, so it is never asked for.
VALID_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)
ALIASES: dict[str, Callable[[ProjectView], ReleaseRow | None]] = {
    "latest": lambda view: pick_described(view.releases, view.described),
    "latest-stable": lambda view: pick_latest_stable(view.releases),
    "latest-unstable": lambda view: pick_latest_unstable(view.releases),
}


@dataclass(frozen=True)
class Answer:
    rendered: Rendered
    stale: bool = False
    fetched_at: float | None = None  # when the stored copy came from the upstream (its Age)


@dataclass(frozen=True)
class Redirect:
    location: str
    status: int


Maker = Callable[[], Answer | Redirect]


def project_json(cache: PyPICache, raw_name: str, suffix: str) -> Answer | Redirect:
    """``/pypi/<project>/json``: the project as of its latest release."""
    state, stale = _project(cache, raw_name)
    if state.name != raw_name:
        return Redirect(f"/pypi/{state.name}/json{suffix}", 301)

    def make() -> Rendered:
        view = cache.view(state)
        release = pick_described(view.releases, view.described)
        if release is None:
            raise NotFound(raw_name)
        return render.project_json(view, release)

    rendered = cache.memory.get_or_make((state.name, state.revision, "json"), make, _size)
    return Answer(rendered, stale, state.fetched_at)


def release_json(cache: PyPICache, raw_name: str, version: str, suffix: str) -> Answer | Redirect:
    """``/pypi/<project>/<version>/json``; the ``latest*`` names redirect to a version."""
    state, stale = _project(cache, raw_name)
    if version in ALIASES:
        chosen = ALIASES[version](cache.view(state))
        if chosen is None:
            raise NotFound(version)
        return Redirect(f"/pypi/{state.name}/{quote(chosen.version)}/json", 302)
    if state.name != raw_name:
        return Redirect(f"/pypi/{state.name}/{quote(version)}/json{suffix}", 301)
    cached = cache.memory.get((state.name, state.revision, "release", version))
    if isinstance(cached, Rendered):
        return Answer(cached, stale or cached.derived_info, state.fetched_at)
    view = cache.view(state)
    release = find_version(view.releases, version)
    if release is None:
        raise NotFound(version)
    if release.info is None and not stale and not cache.offline:
        view, release, stale = _with_release_info(cache, view, release)
    rendered = render.release_json(view, release)
    if not rendered.derived_info or cache.offline:  # online, the next request asks again
        key = (view.state.name, view.state.revision, "release", version)
        cache.memory.put(key, rendered, _size)
    return Answer(rendered, stale or rendered.derived_info, view.state.fetched_at)


def simple_project(cache: PyPICache, raw_name: str, content_type: str) -> Answer | Redirect:
    """``/simple/<project>/`` in the negotiated format, with the core metadata of its files
    (``coremetadata``). A project never seen, or stored without some of that metadata, is
    answered from the upstream's own page when it can be, and stored (or completed) behind
    that answer (``firstpage``)."""
    early = None
    if _valid(raw_name) and canonicalize_name(raw_name) == raw_name:
        early = coremetadata.ask_early(cache, raw_name)
    kept = _first_page_kept(cache, content_type)
    if early is not None:
        first = firstpage.answer(cache, raw_name, content_type, early, kept)
        if first is not None:  # the miss behind it is done with ``early``
            return Answer(first, fetched_at=time.time())
    prepared = _Prepared(content_type)
    try:
        state, stale = _project(cache, raw_name, page=True)
        if state.name != raw_name:
            return Redirect(f"/simple/{state.name}/", 301)
        if not stale and early is None:  # a stored project lacking core metadata
            early = coremetadata.ask_stored(cache, state)
            if early is not None:
                first = firstpage.answer(cache, raw_name, content_type, early, kept, stored=state)
                if first is not None:
                    early = None  # its miss owns it now
                    return Answer(first, fetched_at=time.time())
        if not stale:  # the page is prepared while the upstream's says what it lacks
            state = coremetadata.complete(cache, state, early, prepared.prepare)
    finally:
        if early is not None:
            coremetadata.done_early(cache, raw_name, early)

    def make() -> Rendered:  # the rows are read only when the page is not remembered
        source, values = cache.page_source(state)
        return prepared.page(source, state, values)

    rendered = cache.memory.get_or_make(_page_key(state, content_type), make, _size)
    return Answer(rendered, stale, state.fetched_at)


def _first_page_kept(cache: PyPICache, content_type: str) -> firstpage.Keep:
    """Whether a page answered from the upstream's (``firstpage``) is the one the project
    gives now it is stored; if so, it is remembered as that page, with the gzip made of it."""

    def keep(state: ProjectState, answered: Rendered) -> bool:
        source, values = cache.page_source(state)
        stored = _Prepared(content_type).page(source, state, values)
        same = stored.etag == answered.etag
        cache.memory.put(_page_key(state, content_type), answered if same else stored, _size)
        return same

    return keep


def _page_key(state: ProjectState, content_type: str) -> tuple[str, ...]:
    """Where memory keeps a revision's Simple page (``from_memory`` reads it there too)."""
    return (state.name, state.revision, "simple", content_type)


def simple_index(cache: PyPICache, conn: Connection, content_type: str) -> Answer:
    """``/simple/``: every project pkgdex has stored (or has just answered)."""
    cache.wait_for_writes()
    return Answer(simple.index_page(queries.list_projects(conn), content_type))


def from_memory(cache: PyPICache, raw_name: str, kind: tuple[str, ...]) -> Answer | None:
    """The cached answer for ``kind`` of a fresh project with a normalised name, when memory
    has it; None sends the request down the full path (which may read or fetch)."""
    if not VALID_NAME.fullmatch(raw_name):
        return None
    state = cache.known_fresh(raw_name)
    if state is None:
        return None
    rendered = cache.memory.get((state.name, state.revision, *kind))
    if not isinstance(rendered, Rendered) or rendered.derived_info:
        return None
    return Answer(rendered, fetched_at=state.fetched_at)


def _project(cache: PyPICache, raw_name: str, page: bool = False) -> tuple[ProjectState, bool]:
    if not _valid(raw_name):
        raise NotFound(raw_name)
    return cache.project(canonicalize_name(raw_name), page=page)


def _valid(raw_name: str) -> bool:
    return len(raw_name) <= 255 and VALID_NAME.fullmatch(raw_name) is not None


def _with_release_info(
    cache: PyPICache, view: ProjectView, release: ReleaseRow
) -> tuple[ProjectView, ReleaseRow, bool]:
    """Fetch the release's own info once; on upstream failure keep the derived one, marked
    stale. Returns the view and release to render from."""
    name, version = view.state.name, release.version
    try:
        cache.flight.do(f"pypi:{name}:{version}", lambda: cache.refresh_release(name, version))
    except UpstreamNotFound as exc:
        raise NotFound(version) from exc
    except UpstreamError:
        return view, release, True
    state, _ = cache.project(name)
    view = cache.view(state)
    found = find_version(view.releases, version)
    if found is None:
        raise NotFound(version)
    return view, found, False


class _Prepared:
    """A Simple page prepared over a view or a miss's document (``simple.prepare``), kept
    for this request only: once the page is rendered, it is remembered, and this is no longer
    needed."""

    def __init__(self, content_type: str) -> None:
        self.content_type = content_type
        self._source: simple.Source | None = None
        self._page: simple.PreparedPage | None = None

    def prepare(self, source: simple.Source) -> None:
        with collector_paused():  # an entry per file, no cycles among them
            self._source, self._page = source, simple.prepare(source, self.content_type)

    def page(
        self, source: simple.Source, state: ProjectState, values: dict[str, Any] | None
    ) -> Rendered:
        """The page with ``values``: filled in when it was prepared over ``source``, else
        made whole (``simple.page``)."""
        if self._source is source and self._page is not None:
            return simple.fill(self._page, state, values)
        with collector_paused():
            return simple.page(source, state, self.content_type, values)


def _size(rendered: Rendered) -> int:
    return len(rendered.body) + 200
