"""A bounded, thread-safe memory of values built from stored content (rendered answers, views),
and of each project's bookkeeping as this process last read or wrote it (``StateMemo``).

What it evicts is let go of after the answer being made (``afteranswer.later``): a project's
view is thousands of objects whose memory has long left the CPU's caches, and freeing one
inside a miss's answer cost about a millisecond once the memory was full.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from pkgdex.afteranswer import later
from pkgdex.metadata.queries import ProjectState

T = TypeVar("T")


class MemoryCache:
    """A thread-safe LRU of values built from stored content, bounded by entries and bytes."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self._max_entries, self._max_bytes, self._bytes = max_entries, max_bytes, 0

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            value: object = hit[0]
            return value

    def get_or_make(self, key: Hashable, make: Callable[[], T], size: Callable[[T], int]) -> T:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[0]  # type: ignore[no-any-return]
        value = make()
        self.put(key, value, size)
        return value

    def put(self, key: Hashable, value: T, size: Callable[[T], int]) -> None:
        cost = size(value)
        evicted: list[Any] = []
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, cost)
                self._bytes += cost
            while self._items and (
                len(self._items) > self._max_entries or self._bytes > self._max_bytes
            ):
                _, (old, old_cost) = self._items.popitem(last=False)
                self._bytes -= old_cost
                evicted.append(old)
        if evicted:
            later(evicted.clear)  # the last references: freed once the answer has gone


class StateMemo:
    """Each project's bookkeeping as this process last read or wrote it, with when.

    It only saves database reads: a state read is trusted for ``seconds`` (:meth:`recent`),
    so another process's refresh shows here within them, while this process's own writes
    replace it at once. Freshness is still judged on every request, from the state's own
    ``fetched_at``. Single dict operations keep it safe across threads without a lock.
    """

    def __init__(self, seconds: float = 1.0, max_entries: int = 100_000) -> None:
        self._states: dict[str, tuple[float, ProjectState]] = {}
        self._seconds, self._max_entries = seconds, max_entries

    def recent(self, name: str, now: float | None = None) -> ProjectState | None:
        """``name``'s state if it was read or written less than ``seconds`` ago."""
        memo = self._states.get(name)
        now = time.monotonic() if now is None else now
        return memo[1] if memo is not None and now - memo[0] < self._seconds else None

    def last(self, name: str) -> ProjectState | None:
        """``name``'s state as this process last knew it, however long ago."""
        memo = self._states.get(name)
        return None if memo is None else memo[1]

    def remember(self, state: ProjectState, now: float | None = None) -> None:
        if len(self._states) > self._max_entries:
            self._states.clear()
        self._states[state.name] = (time.monotonic() if now is None else now, state)

    def forget(self, name: str) -> None:
        self._states.pop(name, None)

    def settle(self, name: str, revision: str, stored: ProjectState | None) -> None:
        """A write of ``revision`` has ended: if that is the revision remembered, remember
        it as ``stored``, or forget it when it was not stored (the next request reads)."""
        memo = self._states.get(name)
        if memo is None or memo[1].revision != revision:
            return
        if stored is None:
            self._states.pop(name, None)
        else:
            self.remember(stored)
