"""Pausing Python's cyclic garbage collector while a packument is parsed and derived.

Parsing a large packument makes tens of thousands of dicts and lists at once. Each 700 new
containers set off a young-generation collection, and the survivors soon set off older ones
that walk the whole heap; for a 400 KB document that was about a fifth of a miss's CPU. JSON
has no reference cycles, so those collections can find nothing in it: the collector is paused
while any miss parses and resumes (and catches up in one pass) when the last one ends. Misses
that overlap without end still get a full collection every ``MAX_PAUSE_SECONDS``.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_resume = False  # whether the collector was on when the first pause began
_since = 0.0  # time.monotonic() of the pause's start or of its last catch-up collection
MAX_PAUSE_SECONDS = 1.0


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector for the block (nested and concurrent pauses share one pause)."""
    global _pauses, _resume, _since
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
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
