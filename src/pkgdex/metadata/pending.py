""":class:`PendingWrite` is a project answered before it is stored: the write that follows the
answer (see :mod:`pkgdex.afteranswer`), or a release stored meanwhile, stores it exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pkgdex.metadata.documents import PyPIDocument
from pkgdex.metadata.exact import Exact
from pkgdex.metadata.queries import ProjectState, ProjectView
from pkgdex.metadata.simple import Source
from pkgdex.metadata.views import Carried, Unknown, unknown_core_metadata, with_core_metadata


def _nothing() -> None:
    pass


class PendingWrite:
    """A project answered as ``state`` before it is stored. Its checked document (for the
    write) and its view (for answers other than the one given) are each built on first use:
    the answer may have needed neither, and a view made from the decoded upstream document
    costs a fraction of the check. Its Simple page is rendered over the view without the core
    metadata learnt (:meth:`page_source`), or over ``exact``, the upstream's document in
    pypi.org's exact form, which gives the same page without a view. The write is claimed
    once."""

    def __init__(
        self,
        state: ProjectState,
        check: Callable[[], PyPIDocument],
        view: Callable[[], ProjectView],
        exact: Exact | None = None,
    ) -> None:
        self.state = state
        self.started = time.monotonic()
        self.done = threading.Event()  # stored, or failed to
        self.release: Callable[[], None] = _nothing  # lets go of the held single flight
        self.keep: object = None  # what the answer was made from, let go of by the write
        self.learnt: Carried = {}  # core metadata learnt before the write (``coremetadata``)
        self._check = check
        self._make_view = view
        self._exact = exact
        self._document: PyPIDocument | None = None
        self._base: ProjectView | None = None  # the view without the core metadata learnt
        self._values: dict[str, Any] = {}  # that core metadata, filename -> value
        self._view: ProjectView | None = None  # the view with it
        self._claimed = False
        self._lock = threading.RLock()  # a view may be made from the checked document

    def document(self) -> PyPIDocument:
        """The checked document, as the write stores it."""
        with self._lock:
            if self._document is None:
                self._document = self._check()
            return self._document

    def view(self) -> ProjectView:
        """The view of what the write will store, core metadata learnt included."""
        with self._lock:
            if self._view is None:
                base, values = self._base_view(), self._values
                self._view = with_core_metadata(base, values) if values else base
            return self._view

    def page_source(self) -> tuple[Source, dict[str, Any]]:
        """What the page is rendered over without the core metadata learnt, and that
        metadata: a page rendered over both (``simple.prepare``) needs no view of its own."""
        with self._lock:
            return self._exact or self._base_view(), self._values

    def unknown(self) -> Unknown:
        """The files whose core metadata the write would store as unknown."""
        with self._lock:
            if self._exact is None or self._view is not None:
                return unknown_core_metadata(self.view())
            learnt = self._values  # an exact document's own files hold no core metadata
            entries = [f for release in self._exact.releases.values() for f in release]
            return [(f.filename, f.digests.sha256) for f in entries if f.filename not in learnt]

    def learn(self, carried: Carried) -> bool:
        """Have the write store this core metadata too (filename -> (sha256, value)), and the
        view show it; False when the write has begun, too late to add to it."""
        with self._lock:
            if self._claimed:
                return False
            self.learnt = {**self.learnt, **carried}
            # Replaced, not updated: a page may be rendering over the values given before.
            self._values = {**self._values, **{f: value for f, (_, value) in carried.items()}}
            self._view = None
            return True

    def _base_view(self) -> ProjectView:
        if self._base is None:
            self._base = self._make_view()
        return self._base

    def claim(self) -> bool:
        """True for the first caller only: the one that stores it."""
        with self._lock:
            claimed, self._claimed = self._claimed, True
            return not claimed


class UnwrittenRevision:
    """A new revision of a stored project, ``state``: its stored view ``base`` with the core
    metadata ``values`` (filename -> value) given to its files, answered before ``write``
    stores it. The write runs once: after the answer, or from the next request if that answer
    never ran it (see ``PyPICache.project``).

    Its first page is rendered from ``base`` and ``values`` (:meth:`page_source`); the view of
    its own, 1,000 new rows for 1,000 files, is built only when something else asks for it."""

    def __init__(
        self,
        state: ProjectState,
        base: ProjectView,
        values: dict[str, Any],
        write: Callable[[], None],
    ) -> None:
        self.state = state
        self.values = values
        self.started = time.monotonic()
        self._base = base
        self._write = write
        self._ran = False
        self._view: ProjectView | None = None
        self._lock = threading.Lock()

    def view(self) -> ProjectView:
        with self._lock:
            if self._view is None:
                learnt = with_core_metadata(self._base, self.values)
                self._view = replace(learnt, state=self.state)
            return self._view

    def page_source(self) -> tuple[ProjectView, dict[str, Any]]:
        """The stored view (its state the revision before), and the values its files take
        over it."""
        return self._base, self.values

    def run(self) -> None:
        with self._lock:
            ran, self._ran = self._ran, True
        if not ran:
            self._write()
