"""A project's first Simple page, answered from the upstream's own PEP 691 page: a project
never seen, or one stored without its files' core metadata (an import).

That page needs two upstream documents: the project's JSON document, which pkgdex stores, and
its PEP 691 page, the only one that says which files have their core metadata beside them
(``coremetadata``). The PEP 691 page alone says everything pkgdex's page shows, so it is asked
for first (``coremetadata.ask_early``) and, when it comes in whole and in the form pkgdex
writes, the page is answered from it straight away. The project's miss (its JSON document,
the page's core metadata learnt before its write, as a JSON API miss does) follows once that
answer has gone: begun sooner, it would compete with the answer for the interpreter.

pypi.org caches its two APIs apart, so for a moment after an upload they may disagree. Behind
the answer, the page the stored project gives is compared with the one answered: the same, it
is remembered as that project's page; else the difference is logged, and from then on the
stored copy answers, refreshed by its TTL like any other.

A stored project lacking its files' core metadata asks for the same page (``coremetadata``).
When the page has the stored serial (the project has not changed upstream since), it is
answered as it is, and the values are stored behind it the same way, compared as above;
otherwise (or when the upstream failed) the page is made from the stored files, with what the
upstream's page says of them. Its stored copy answers whatever the upstream did.

A page answered stands even when the document behind it fails (logged; nothing is stored, and
the next request misses again). When the page cannot be answered as it is (the upstream
failed it or has no such page, it lacks a field, holds what the store would refuse, names
another project), the request misses as for any project, with the page already in for its
core metadata; when the upstream did not answer at all, a never-seen project's request
fails at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout

from pkgdex.afteranswer import collecting
from pkgdex.collector import collector_paused
from pkgdex.metadata import coremetadata, simple
from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.canonical import may_hold_nul
from pkgdex.metadata.exact import times_ok
from pkgdex.metadata.listing import UpstreamPage, WholePage
from pkgdex.metadata.models import DIGEST_MAX_LENGTHS
from pkgdex.metadata.queries import ProjectState
from pkgdex.metadata.render import Rendered
from pkgdex.metadata.upstream import UpstreamError, UpstreamNotFound

log = logging.getLogger(__name__)
_NO_ANSWER = ("upstream_timeout", "upstream_unreachable")
# Whether the page answered is the stored project's, which then remembers it as its own.
Keep = Callable[[ProjectState, Rendered], bool]


def answer(
    cache: PyPICache,
    name: str,
    content_type: str,
    early: Future[UpstreamPage],
    keep: Keep,
    *,
    stored: ProjectState | None = None,
) -> Rendered | None:
    """The page of project ``name`` (PEP 503 form) made from its upstream page ``early``,
    its miss left for after the answer (and then ``keep``); None when that page cannot be
    answered as it is: the request then misses as for any project. An upstream that did not
    answer in time, or could not be reached, is this request's error: the document would take
    as long, to fail the same way. ``stored``: the project as stored (whose serial the page
    must have), which answers whatever the upstream did: its page, without the upstream's."""
    try:
        page = _page(cache, name, early) if stored is None else _stored_page(cache, stored, early)
        serial = None if stored is None else stored.last_serial
        whole = None if page is None else answerable(page, name, serial)
        if whole is None:
            return None  # the request's miss is done with ``early``
        with collector_paused():  # an entry per file, no cycles among them
            rendered = simple.upstream_page(whole, content_type)
    except BaseException:
        coremetadata.done_early(cache, name, early)  # the next request asks again
        raise
    cache.miss_later(lambda: _miss(cache, name, early, rendered, keep))
    return rendered


def _page(cache: PyPICache, name: str, early: Future[UpstreamPage]) -> UpstreamPage | None:
    """The upstream's page; None when it failed in a way the document may not."""
    try:
        return early.result(cache.upstream.timeout + coremetadata.EARLY_SLACK_SECONDS)
    except UpstreamError as exc:
        if exc.code in _NO_ANSWER:
            raise
        return None
    except FutureTimeout as exc:
        message = f"the upstream did not answer in time for {name}'s Simple page"
        raise UpstreamError(504, "upstream_timeout", message) from exc
    except (UpstreamNotFound, CancelledError):
        return None


def _stored_page(
    cache: PyPICache, stored: ProjectState, early: Future[UpstreamPage]
) -> UpstreamPage | None:
    """The upstream's page for a stored project; None, and the project answered as stored,
    when it failed (a page that did not come in time is not waited for again)."""
    try:
        return _page(cache, stored.name, early)
    except UpstreamError as exc:
        if exc.code == "upstream_timeout":
            coremetadata.not_had(cache, stored, exc)
        return None


def answerable(page: UpstreamPage, name: str, serial: int | None = None) -> WholePage | None:
    """The upstream's page of ``name`` when it can be answered as it is: whole, naming that
    project, of the stored ``serial`` when one is given (the project has not changed since it
    was stored), and holding only what the store keeps of the same files (a NUL, a digest past
    its column, or an upload time in another form would not be rendered back the same)."""
    whole = page.whole
    if whole is None or whole.name != name or may_hold_nul(page.body):
        return None
    if serial is not None and whole.meta.last_serial != serial:
        return None
    sha256_max = DIGEST_MAX_LENGTHS["sha256"]
    if any(len(f.hashes.get("sha256") or "") > sha256_max for f in whole.files):
        return None
    if not times_ok([f.upload_time for f in whole.files if f.upload_time is not None]):
        return None
    return whole


def _miss(
    cache: PyPICache, name: str, early: Future[UpstreamPage], answered: Rendered, keep: Keep
) -> None:
    """The project's miss, once ``answered`` has gone: stored with the core metadata of the
    upstream's page, and compared with what was answered just before its write, from the
    document that write stores (the stored rows would cost a read, and a view kept in
    memory). A failure only leaves the project unstored: the next request misses again."""
    with collecting() as after:  # the miss's write: after it, here, as after any answer
        state = _missed(cache, name, early)
        if state is not None:
            _compare(state, answered, keep)
    after.run()


def _missed(cache: PyPICache, name: str, early: Future[UpstreamPage]) -> ProjectState | None:
    try:
        state, stale = cache.project(name, page=True)
        if state.name == name and not stale:
            state = coremetadata.complete(cache, state, early)
        return state
    except Exception as exc:
        log.warning("%s, answered from the upstream's page, was not stored: %r", name, exc)
        return None
    finally:
        coremetadata.done_early(cache, name, early)


def _compare(state: ProjectState, answered: Rendered, keep: Keep) -> None:
    try:
        kept = keep(state, answered)
    except Exception:
        log.exception("could not render the page of %s", state.name)
        return
    if not kept:
        log.warning(
            "the upstream's Simple page and JSON API disagreed on %s: its next page is the "
            "stored copy's",
            state.name,
        )
