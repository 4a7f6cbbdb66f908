"""Pausing Python's cyclic garbage collector while an upstream document is parsed, derived and
let go (PyPI project documents, npm packuments).

Parsing a large document makes tens of thousands of dicts and lists at once. Each 700 new
containers set off a young-generation collection, and the survivors soon set off older ones
that walk the whole heap: about a fifth of a 400 KB packument miss's CPU, and a 0.17 s full
collection in a 500-release PyPI miss. JSON has no reference cycles, so those collections can
find nothing in it: the collector is paused from the fetch until the parsed document has been
let go, and resumes when the last pause ends. A pause may end in another thread than the one
that began it (a miss's store runs behind its answer). Pauses that overlap without end still
get a full collection every ``MAX_PAUSE_SECONDS``; a collector that was off stays off.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pkgdex.afteranswer import later

MAX_PAUSE_SECONDS = 1.0

_lock = threading.Lock()
_pauses = 0
_resume = False  # whether the collector was on when the first pause began
_since = 0.0  # time.monotonic() of the pause's start or of its last catch-up collection


class Pause:
    """One pause of the collector, from its making until ``end`` (or until it is dropped)."""

    def __init__(self) -> None:
        global _pauses, _resume, _since
        self._ended = False
        catch_up = False
        with _lock:
            now = time.monotonic()
            if _pauses == 0:
                _resume, _since = gc.isenabled(), now
                gc.disable()
            elif _resume and now - _since > MAX_PAUSE_SECONDS:
                _since, catch_up = now, True
            _pauses += 1
        if catch_up:
            gc.collect()

    def end(self) -> None:
        """End this pause (again: nothing); the collector resumes when the last one ends."""
        global _pauses
        with _lock:
            if self._ended:
                return
            self._ended = True
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()

    def __del__(self) -> None:
        # A pause whose owner failed before ending it must not keep the collector off.
        self.end()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the block (nested and concurrent pauses share one pause) and,
    in a request, until its answer has gone (``afteranswer``): the block's objects set off a
    collection at the first allocation after the pause, which walks the whole heap."""
    pause = Pause()
    try:
        yield
    finally:
        later(pause.end)
