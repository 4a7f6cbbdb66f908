"""The memory of rendered answers and views: bounded, and what it evicts is freed after the
answer being made, not inside it."""

from __future__ import annotations

import gc
import weakref

from pkgdex.afteranswer import collecting
from pkgdex.metadata.memory import MemoryCache


class Value:
    """Something a weak reference can watch."""


def _one(_: Value) -> int:
    return 1


def test_bounded_by_entries_and_bytes_least_recently_used_first() -> None:
    memory = MemoryCache(max_entries=2, max_bytes=10)
    a, b, c = Value(), Value(), Value()
    memory.put("a", a, _one)
    memory.put("b", b, _one)
    assert memory.get("a") is a  # now the most recently used
    memory.put("c", c, _one)
    assert (memory.get("a"), memory.get("b"), memory.get("c")) == (a, None, c)
    memory.put("big", Value(), lambda _: 10)
    assert memory.get("a") is None and memory.get("c") is None and memory.get("big") is not None


def _held_once(memory: MemoryCache) -> weakref.ref[Value]:
    """Put a value that only ``memory`` holds; a weak reference to watch it by."""
    old = Value()
    memory.put("old", old, _one)
    return weakref.ref(old)


def test_an_evicted_value_lives_until_the_answer_has_gone() -> None:
    memory = MemoryCache(max_entries=1, max_bytes=100)
    watch = _held_once(memory)
    with collecting() as after:
        memory.put("new", Value(), _one)  # evicts "old" while an answer is being made
    gc.collect()
    assert watch() is not None and memory.get("old") is None
    after.run()
    assert watch() is None


def test_without_an_answer_an_evicted_value_is_freed_at_once() -> None:
    memory = MemoryCache(max_entries=1, max_bytes=100)
    watch = _held_once(memory)
    memory.put("new", Value(), _one)
    assert watch() is None
