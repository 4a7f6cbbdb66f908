"""What this process answered lately, so a cached answer needs no thread and no database read.

For each package it keeps the stored row's small columns, when they were last read, and the
bodies answered from that row (full, install-v1, single versions), all tied to the row's
digest. An entry is trusted for ``MEMO_SECONDS`` after the store was read; after that the next
request reads the store again (another process may have refreshed the package), which keeps
the bodies when the digest has not changed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from pkgdex.npmregistry.queries import StoredPackument

MEMO_SECONDS = 1.0
CLAIM_SECONDS = 10.0
CLAIMS_KEPT = 10_000
MAX_BYTES = 128 * 1024 * 1024


@dataclass
class _Memo:
    checked: float  # time.monotonic() of the last read of the store
    stored: StoredPackument  # without a body
    bodies: dict[str, bytes] = field(default_factory=dict)  # by answer kind
    size: int = 0


class AnswerMemory:
    """A thread-safe LRU of recent answers, bounded by the bytes of their bodies."""

    def __init__(self, max_bytes: int = MAX_BYTES, memo_seconds: float = MEMO_SECONDS) -> None:
        self._memos: OrderedDict[str, _Memo] = OrderedDict()
        # (name, digest, kind) of bodies being made -> when claimed (``claim``)
        self._making: dict[tuple[str, str | None, str], float] = {}
        self._lock = threading.Lock()
        self._max_bytes, self._memo_seconds, self._bytes = max_bytes, memo_seconds, 0

    def recall(self, name: str, kind: str) -> tuple[StoredPackument, bytes | None] | None:
        """The row of ``name`` as read less than ``MEMO_SECONDS`` ago, with the body of
        ``kind`` when it was answered; None when the store must be read."""
        with self._lock:
            memo = self._memos.get(name)
            if memo is None or time.monotonic() - memo.checked >= self._memo_seconds:
                return None
            self._memos.move_to_end(name)
            return memo.stored, memo.bodies.get(kind)

    def remember(self, stored: StoredPackument, kind: str, body: bytes | None) -> None:
        """Note a row just read from the store (and the body of ``kind`` answered from it)."""
        small = replace(stored, body=None)
        with self._lock:
            memo = self._memos.get(stored.name)
            if memo is None or memo.stored.digest != stored.digest:
                self._drop(stored.name)
                memo = self._memos[stored.name] = _Memo(time.monotonic(), small)
            else:
                memo.checked, memo.stored = time.monotonic(), small
                self._memos.move_to_end(stored.name)
            if body is not None and kind not in memo.bodies:
                memo.bodies[kind] = body
                memo.size += len(body)
                self._bytes += len(body)
            while self._bytes > self._max_bytes and self._memos:
                self._drop(next(iter(self._memos)))

    def body(self, stored: StoredPackument, kind: str) -> bytes | None:
        """The body of ``kind`` kept for ``stored``'s row, if the memo still holds that row."""
        with self._lock:
            memo = self._memos.get(stored.name)
            if memo is None or memo.stored.digest != stored.digest:
                return None
            return memo.bodies.get(kind)

    def claim(self, stored: StoredPackument, kind: str) -> bool:
        """Whether the caller is to make the body of ``kind`` for ``stored``'s row: not when
        it is kept already or another caller is making it (a burst of requests for a package
        would otherwise compress it once each). The maker ends with :meth:`add_body` or
        :meth:`unclaim`; a claim lapses after ``CLAIM_SECONDS``, in case its work never ran."""
        key, now = (stored.name, stored.digest, kind), time.monotonic()
        with self._lock:
            memo = self._memos.get(stored.name)
            kept = memo is not None and memo.stored.digest == stored.digest and kind in memo.bodies
            claimed = self._making.get(key)
            if kept or (claimed is not None and now - claimed < CLAIM_SECONDS):
                return False
            if len(self._making) >= CLAIMS_KEPT:  # claims whose work never ran: let them lapse
                self._making.clear()
            self._making[key] = now
            return True

    def unclaim(self, stored: StoredPackument, kind: str) -> None:
        with self._lock:
            self._making.pop((stored.name, stored.digest, kind), None)

    def add_body(self, stored: StoredPackument, kind: str, body: bytes) -> None:
        """Keep ``body`` (made after an answer: its gzip) with the memo of ``stored``'s row, if
        the memo still holds that row; it does not count as a read of the store."""
        with self._lock:
            self._making.pop((stored.name, stored.digest, kind), None)
            memo = self._memos.get(stored.name)
            if memo is None or memo.stored.digest != stored.digest or kind in memo.bodies:
                return
            memo.bodies[kind] = body
            memo.size += len(body)
            self._bytes += len(body)
            while self._bytes > self._max_bytes and self._memos:
                self._drop(next(iter(self._memos)))

    def _drop(self, name: str) -> None:
        memo = self._memos.pop(name, None)
        if memo is not None:
            self._bytes -= memo.size
