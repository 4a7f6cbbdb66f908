""":class:`PendingWrite` is a project answered before it is stored: the write that follows the
answer (see :mod:`pkgdex.afteranswer`), or a release stored meanwhile, stores it exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pkgdex.metadata.documents import PyPIDocument
from pkgdex.metadata.queries import ProjectState, ProjectView
from pkgdex.metadata.views import Carried, with_core_metadata


def _nothing() -> None:
    pass


class PendingWrite:
    """A project answered as ``state`` before it is stored. Its checked document (for the
    write) and its view (for answers other than the one given, such as its Simple page) are
    each built on first use: the answer may have needed neither, and a view made from the
    decoded upstream document costs a fraction of the check. The write is claimed once."""

    def __init__(
        self,
        state: ProjectState,
        check: Callable[[], PyPIDocument],
        view: Callable[[], ProjectView],
    ) -> None:
        self.state = state
        self.started = time.monotonic()
        self.done = threading.Event()  # stored, or failed to
        self.release: Callable[[], None] = _nothing  # lets go of the held single flight
        self.keep: object = None  # what the answer was made from, let go of by the write
        self.learnt: Carried = {}  # core metadata learnt before the write (``coremetadata``)
        self._check = check
        self._make_view = view
        self._document: PyPIDocument | None = None
        self._view: ProjectView | None = None
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
                self._view = self._make_view()
            return self._view

    def learn(self, carried: Carried) -> bool:
        """Have the write store this core metadata too (filename -> (sha256, value)), and the
        view show it; False when the write has begun, too late to add to it."""
        with self._lock:
            if self._claimed:
                return False
        view = self.view()
        values = {filename: value for filename, (_, value) in carried.items()}
        with self._lock:
            if self._claimed:
                return False
            self.learnt = {**self.learnt, **carried}
            self._view = with_core_metadata(view, values)
            return True

    def claim(self) -> bool:
        """True for the first caller only: the one that stores it."""
        with self._lock:
            claimed, self._claimed = self._claimed, True
            return not claimed


class UnwrittenRevision:
    """A new revision of a stored project (``view``), answered before ``write`` stores it.
    The write runs once: after the answer, or from the next request if that answer never ran
    it (see ``PyPICache.project``)."""

    def __init__(self, view: ProjectView, write: Callable[[], None]) -> None:
        self.view = view
        self.started = time.monotonic()
        self._write = write
        self._ran = False
        self._lock = threading.Lock()

    def run(self) -> None:
        with self._lock:
            ran, self._ran = self._ran, True
        if not ran:
            self._write()
