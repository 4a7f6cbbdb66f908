"""Work an answer does not wait for (storing a miss, telling the name index about a new
package): collected while answering, run once the response has gone. Started earlier, it
would compete with the answer for the interpreter.

A route makes one :class:`AfterAnswer` per request and either hands it down explicitly (the
npm registry's ``later``) or makes it current for the code below (:func:`collecting`, for the
PyPI cache, whose miss sits several calls down). Without one (the CLI, imports, tests), the
work runs at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response

log = logging.getLogger(__name__)

Later = Callable[..., None]  # runs a function with its arguments, now or after the response


def now(fn: Callable[..., object], *args: Any) -> None:
    """The ``Later`` of code that nobody waits on: the work runs at once."""
    fn(*args)


class AfterAnswer:
    """The work a request leaves for once its response has gone. Its route runs it after the
    response, or at once when the request ends in an error response instead: either way each
    job runs exactly once, and one that fails does not keep the others from running."""

    def __init__(self) -> None:
        self._jobs: list[tuple[Callable[..., object], tuple[Any, ...]]] = []

    def __call__(self, fn: Callable[..., object], *args: Any) -> None:
        self._jobs.append((fn, args))

    def __len__(self) -> int:
        return len(self._jobs)

    def run(self) -> None:
        jobs, self._jobs = self._jobs, []
        for fn, args in jobs:
            try:
                fn(*args)
            except Exception:
                log.exception("work after an answer failed")

    def after(self, response: Response) -> Response:
        """``response``, set to run this work once it has been sent."""
        if self:
            response.background = BackgroundTask(self.run)
        return response


_current: ContextVar[AfterAnswer | None] = ContextVar("pkgdex_after_answer", default=None)


@contextmanager
def collecting() -> Iterator[AfterAnswer]:
    """Make a new :class:`AfterAnswer` the one :func:`later` and :func:`waiting` see."""
    after = AfterAnswer()
    token = _current.set(after)
    try:
        yield after
    finally:
        _current.reset(token)


def waiting() -> AfterAnswer | None:
    """The work of the answer being made, or None when nobody waits for one."""
    return _current.get()


def later(fn: Callable[..., object], *args: Any) -> None:
    """Run ``fn(*args)`` after the answer being made, or now when there is none."""
    after = _current.get()
    (now if after is None else after)(fn, *args)
