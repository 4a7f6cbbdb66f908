"""Pausing Python's cyclic garbage collector while a packument is parsed and derived.

Parsing a large packument makes tens of thousands of dicts and lists at once. Each 700 new
containers set off a young-generation collection, and the survivors soon set off older ones
that walk the whole heap; for a 400 KB document that was about a fifth of a miss's CPU. JSON
has no reference cycles, so those collections can find nothing in it: the collector is paused
while any miss parses and resumes (and catches up in one pass) when the last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_resume = False  # whether the collector was on when the first pause began


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the block (nested and concurrent pauses share one pause)."""
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
