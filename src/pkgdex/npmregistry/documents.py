"""The documents pkgdex keeps for one packument, made from the upstream's body.

The body is checked while it is decoded (:mod:`pkgdex.npmregistry.decoded`) and then kept as
the full form, as the upstream sent it; its digest (every answer's ETag) is made at once. The
install-v1 form and the search card are made when first asked for, or by ``finish``, which
then lets the decoded document go. A miss's answer thus waits only for what it sends; the rest
comes behind it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson
import xxhash

from pkgdex.npmregistry import decoded as dec
from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry import parts, queries
from pkgdex.npmregistry.cards import search_card
from pkgdex.npmregistry.render import dumps


class Documents:
    """A checked packument's serialised forms and what the name index is told of it."""

    def __init__(
        self, body: bytes, doc: dec.DecodedPackument, upstream_etag: str | None = None
    ) -> None:
        self.name: str = doc.name
        self.full = body
        # XXH3-128, as the PyPI ETags: SHA-256 of 400 KB took 0.28 ms of every miss.
        self.digest = xxhash.xxh3_128_hexdigest(body)
        self.latest = doc.latest
        self.modified = doc.modified
        self.summary = doc.summary
        self.upstream_etag = upstream_etag
        self._doc: dec.DecodedPackument | None = doc
        self._abbreviated: bytes | None = None
        self._card: bytes | None = None
        self._lock = threading.Lock()  # the answer's thread and the store's may both ask

    @classmethod
    def from_doc(cls, doc: pk.Packument) -> Documents:
        """The documents of a packument already parsed and checked (an imported file)."""
        body = dumps(doc)
        return cls(body, dec.decode(body))

    @property
    def abbreviated(self) -> bytes:
        with self._lock:
            return self._make_abbreviated()

    @property
    def card(self) -> bytes:
        with self._lock:
            return self._make_card()

    def finish(self) -> None:
        """Make every form, then let the decoded document go; raises
        :class:`~pkgdex.npmregistry.packument.InvalidPackumentError` for a body that must
        not be stored."""
        with self._lock:
            self._make_abbreviated()
            self._make_card()
            self._doc = None

    def _make_abbreviated(self) -> bytes:
        if self._abbreviated is None:
            assert self._doc is not None  # finish makes every form before letting it go
            self._abbreviated = self._doc.abbreviated()
        return self._abbreviated

    def _make_card(self) -> bytes:
        if self._card is None:
            try:
                self._card = dumps(search_card(parts.card_source(self.full)))
            except (parts.UnreadablePartError, orjson.JSONEncodeError) as exc:
                raise pk.InvalidPackumentError(f"{self.name}: no search card: {exc}") from exc
        return self._card

    def body(self, variant: queries.Body) -> bytes | None:
        if variant is None:
            return None
        return self.full if variant == "doc" else self.abbreviated

    def stored(self, variant: queries.Body, fetched_at: float) -> queries.StoredPackument:
        """The answer's view of these documents, as the stored row will read."""
        return queries.StoredPackument(
            self.name, 200, fetched_at, self.digest, self.latest, self.upstream_etag,
            self.body(variant),
        )  # fmt: skip

    def row(self) -> dict[str, Any]:
        """Every column of the stored row (the fetch time is now)."""
        return {
            "name": self.name,
            "status": 200,
            "fetched_at": time.time(),
            "digest": self.digest,
            "latest": self.latest,
            "modified": self.modified,
            "upstream_etag": self.upstream_etag,
            "card": self.card,
            "abbreviated": self.abbreviated,
            "doc": self.full,
        }
