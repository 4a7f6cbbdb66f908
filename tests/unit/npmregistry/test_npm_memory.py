"""The process's memory of recent answers: trusted for a moment, tied to the row's digest,
bounded in bytes."""

from __future__ import annotations

import time

import pytest

from pkgdex.npmregistry import memory as memory_module
from pkgdex.npmregistry.memory import AnswerMemory
from pkgdex.npmregistry.queries import StoredPackument


def row(name: str, digest: str, body: bytes | None = None) -> StoredPackument:
    return StoredPackument(name, 200, time.time(), digest, "1.0.0", None, body)


def test_recalls_the_row_and_the_bodies_answered_from_it() -> None:
    memory = AnswerMemory()
    memory.remember(row("a", "d1", b"full"), "doc", b"full")
    memory.remember(row("a", "d1"), "abbreviated/1.0.0", b"one")
    stored, body = memory.recall("a", "doc") or (None, None)
    assert stored is not None and stored.digest == "d1" and stored.body is None
    assert body == b"full"
    assert memory.recall("a", "abbreviated/1.0.0") == (stored, b"one")
    assert memory.recall("a", "abbreviated") == (stored, None)  # the row, not that body
    assert memory.recall("b", "doc") is None


def test_a_new_digest_forgets_the_old_bodies() -> None:
    memory = AnswerMemory()
    memory.remember(row("a", "d1"), "doc", b"old")
    memory.remember(row("a", "d2"), "abbreviated", b"new")
    recalled = memory.recall("a", "doc")
    assert recalled is not None and recalled[0].digest == "d2" and recalled[1] is None


def test_is_trusted_only_for_a_moment_after_reading_the_store() -> None:
    memory = AnswerMemory(memo_seconds=0.05)
    memory.remember(row("a", "d1"), "doc", b"full")
    time.sleep(0.06)
    assert memory.recall("a", "doc") is None
    memory.remember(row("a", "d1"), "abbreviated", None)  # read again, digest unchanged
    assert memory.recall("a", "doc") is not None  # the body is kept


def test_least_recently_used_rows_go_first_past_the_byte_bound() -> None:
    memory = AnswerMemory(max_bytes=10)
    memory.remember(row("a", "d"), "doc", b"aaaa")
    memory.remember(row("b", "d"), "doc", b"bbbb")
    memory.recall("a", "doc")
    memory.remember(row("c", "d"), "doc", b"cccc")
    assert memory.recall("b", "doc") is None
    assert memory.recall("a", "doc") is not None and memory.recall("c", "doc") is not None


def test_a_body_made_later_joins_only_the_row_it_was_made_from() -> None:
    memory = AnswerMemory(memo_seconds=0.05)
    memory.remember(row("a", "d1"), "doc", b"full")
    memory.add_body(row("a", "d1"), "doc+gzip", b"gz")
    assert memory.body(row("a", "d1"), "doc+gzip") == b"gz"
    memory.add_body(row("a", "d2"), "doc+gzip", b"other")  # made from a row since replaced
    memory.add_body(row("b", "d1"), "doc+gzip", b"unknown")  # of a row never remembered
    assert memory.body(row("a", "d2"), "doc+gzip") is None
    assert memory.body(row("b", "d1"), "doc+gzip") is None
    time.sleep(0.06)  # no longer trusted as the store's row, but still that row's bodies
    assert memory.recall("a", "doc") is None
    assert memory.body(row("a", "d1"), "doc+gzip") == b"gz"


def test_a_body_made_later_counts_against_the_bound() -> None:
    memory = AnswerMemory(max_bytes=10)
    memory.remember(row("a", "d1"), "doc", b"12345")
    memory.remember(row("b", "d1"), "doc", b"12345")
    memory.add_body(row("b", "d1"), "doc+gzip", b"123")  # over the bound: the oldest goes
    assert memory.recall("a", "doc") is None
    assert memory.body(row("b", "d1"), "doc+gzip") == b"123"


def test_a_body_is_made_by_one_caller_at_a_time() -> None:
    memory = AnswerMemory()
    memory.remember(row("a", "d1"), "doc", b"full")
    assert memory.claim(row("a", "d1"), "doc+gzip")
    assert not memory.claim(row("a", "d1"), "doc+gzip")  # another request meanwhile
    assert memory.claim(row("a", "d2"), "doc+gzip")  # another row's is another body
    memory.unclaim(row("a", "d1"), "doc+gzip")  # the maker failed: the next one may try
    assert memory.claim(row("a", "d1"), "doc+gzip")
    memory.add_body(row("a", "d1"), "doc+gzip", b"gz")
    assert not memory.claim(row("a", "d1"), "doc+gzip")  # kept: nothing to make


def test_a_claim_whose_work_never_ran_lapses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory_module, "CLAIM_SECONDS", 0.0)
    memory = AnswerMemory()
    memory.remember(row("a", "d1"), "doc", b"full")
    assert memory.claim(row("a", "d1"), "doc+gzip")
    assert memory.claim(row("a", "d1"), "doc+gzip")
