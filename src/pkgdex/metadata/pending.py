"""Work an answer does not wait for: collected while answering, started once the answer has
gone (started earlier, it competes with the answer for the interpreter).

:class:`PendingWrite` is a project answered before it is stored: the write that follows the
answer, or a release stored meanwhile, stores it exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pkgdex.metadata.documents import PyPIDocument
from pkgdex.metadata.queries import ProjectState, ProjectView

Job = Callable[[], object]
_after_answer: ContextVar[list[Job] | None] = ContextVar("pkgdex_after_answer", default=None)


@contextmanager
def after_answer() -> Iterator[list[Job]]:
    """Collect the work an answer does not need (storing a miss, telling the name index about
    a new project) instead of starting it at once; the caller runs it after responding."""
    jobs: list[Job] = []
    token = _after_answer.set(jobs)
    try:
        yield jobs
    finally:
        _after_answer.reset(token)


def waiting_answer() -> list[Job] | None:
    """The jobs of the answer being made, or None when nobody waits for one (CLI, imports)."""
    return _after_answer.get()


def run_jobs(jobs: list[Job]) -> None:
    for job in jobs:
        job()


def later(job: Job) -> None:
    jobs = _after_answer.get()
    if jobs is None:  # no answer waiting (CLI, imports): now
        job()
    else:
        jobs.append(job)


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
        self._build = build
        self._built: Built | None = None
        self._claimed = False
        self._lock = threading.Lock()

    def built(self) -> Built:
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    def claim(self) -> bool:
        """True for the first caller only: the one that stores it."""
        with self._lock:
            claimed, self._claimed = self._claimed, True
            return not claimed
