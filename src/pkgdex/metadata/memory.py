"""A bounded, thread-safe memory of values built from stored content (rendered answers, views).

What it evicts is let go of after the answer being made (``afteranswer.later``): a project's
view is thousands of objects whose memory has long left the CPU's caches, and freeing one
inside a miss's answer cost about a millisecond once the memory was full.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from pkgdex.afteranswer import later

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
