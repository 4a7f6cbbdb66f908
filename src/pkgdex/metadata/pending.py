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

Built = tuple[PyPIDocument, ProjectView]


def _nothing() -> None:
    pass


class PendingWrite:
    """A project answered as ``state`` before it is stored: the checked document and its view
    are built on first use (the answer may not have needed them), the write claimed once."""

    def __init__(self, state: ProjectState, build: Callable[[], Built]) -> None:
        self.state = state
        self.started = time.monotonic()
        self.done = threading.Event()  # stored, or failed to
        self.release: Callable[[], None] = _nothing  # lets go of the held single flight
        self.keep: object = None  # what the answer was made from, let go of by the write
        self.learnt: Carried = {}  # core metadata learnt before the write (``coremetadata``)
        self._build = build
        self._built: Built | None = None
        self._claimed = False
        self._lock = threading.Lock()

    def built(self) -> Built:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    def learn(self, carried: Carried) -> bool:
        """Have the write store this core metadata too (filename -> (sha256, value)), and the
        view show it; False when the write has begun, too late to add to it."""
        with self._lock:
            if self._claimed:
                return False
        doc, view = self.built()
        values = {filename: value for filename, (_, value) in carried.items()}
        with self._lock:
            if self._claimed:
                return False
            self.learnt = {**self.learnt, **carried}
            self._built = doc, with_core_metadata(view, values)
            return True

    def claim(self) -> bool:
        """True for the first caller only: the one that stores it."""
        with self._lock:
            claimed, self._claimed = self._claimed, True
            return not claimed
