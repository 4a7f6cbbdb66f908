"""The memory of rendered answers and views: bounded, and what it evicts is freed after the
answer being made, not inside it. The memo of projects' states: trusted for a second, replaced
by this process's own writes."""

from __future__ import annotations

import gc
import weakref

from pkgdex.afteranswer import collecting
from pkgdex.metadata.memory import MemoryCache, StateMemo
from pkgdex.metadata.queries import FOUND, ProjectState


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


def _state(name: str, revision: str) -> ProjectState:
    return ProjectState(1, name, name, FOUND, 5, 100.0, None, revision)


def test_a_state_read_is_trusted_for_its_seconds_and_known_after() -> None:
    memo = StateMemo(seconds=1.0)
    first = _state("a", "r1")
    memo.remember(first, now=10.0)
    assert memo.recent("a", now=10.9) is first
    assert memo.recent("a", now=11.0) is None  # another process may have refreshed it
    assert memo.last("a") is first
    assert memo.recent("b", now=10.0) is None and memo.last("b") is None


def test_a_settled_write_replaces_only_the_revision_it_wrote() -> None:
    memo = StateMemo()
    answered, stored = _state("a", "r1"), _state("a", "r1")
    memo.remember(answered)
    memo.settle("a", "r0", None)  # an older write ended: not what is remembered
    assert memo.last("a") is answered
    memo.settle("a", "r1", stored)
    assert memo.last("a") is stored
    memo.settle("a", "r1", None)  # its write failed: the next request reads the store
    assert memo.last("a") is None


def test_the_memo_is_bounded() -> None:
    memo = StateMemo(max_entries=2)
    for name in "abc":
        memo.remember(_state(name, "r"))
    memo.remember(_state("d", "r"))  # past the bound: started again
    assert [memo.last(n) is not None for n in "abcd"] == [False, False, False, True]
    memo.forget("d")
    assert memo.last("d") is None
