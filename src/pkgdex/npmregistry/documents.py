"""The documents pkgdex keeps for one packument, made from the parsed upstream answer.

The full form and its digest (every answer's ETag) are made at once; the install-v1 form and
the search card when first asked for, or by ``finish``, which then lets the parsed document
go (tens of thousands of Python objects for a large packument). A miss's answer thus waits
only for what it sends; the rest, and freeing the parsed document, come behind it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry import queries
from pkgdex.npmregistry.cards import search_card
from pkgdex.npmregistry.render import abbreviate, dumps


class Documents:
    """A checked packument's serialised forms and what the name index is told of it."""

    def __init__(self, doc: pk.Packument, upstream_etag: str | None = None) -> None:
        self.name: str = doc["name"]
        self.full = dumps(doc)
        self.digest = hashlib.sha256(self.full).hexdigest()
        self.latest = pk.latest_version(doc)
        self.modified = pk.modified(doc)
        self.summary = pk.summary(doc)
        self.upstream_etag = upstream_etag
        self._doc: pk.Packument | None = doc
        self._abbreviated: bytes | None = None
        self._card: bytes | None = None
        self._lock = threading.Lock()  # the answer's thread and the store's may both ask

    @property
    def abbreviated(self) -> bytes:
        with self._lock:
            return self._make_abbreviated()

    @property
    def card(self) -> bytes:
        with self._lock:
            return self._make_card()

    def finish(self) -> None:
        """Make every form, then let the parsed document go."""
        with self._lock:
            self._make_abbreviated()
            self._make_card()
            self._doc = None

    def _make_abbreviated(self) -> bytes:
        if self._abbreviated is None:
            assert self._doc is not None  # finish makes every form before letting it go
            self._abbreviated = dumps(abbreviate(self._doc))
        return self._abbreviated

    def _make_card(self) -> bytes:
        if self._card is None:
            assert self._doc is not None
            self._card = dumps(search_card(self._doc))
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
