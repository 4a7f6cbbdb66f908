"""The documents pkgdex keeps for one packument, all made at once from the parsed upstream
answer, so the parsed document (tens of thousands of Python objects for a large packument) can
be let go before anything else happens: the answer, the store behind it and the name index
need only these bytes and a few strings.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry import queries
from pkgdex.npmregistry.cards import search_card
from pkgdex.npmregistry.render import abbreviate, dumps


@dataclass(frozen=True)
class Documents:
    """A checked packument's serialised forms and what the name index is told of it."""

    name: str
    full: bytes
    digest: str  # sha256 of ``full``: the ETags' seed
    abbreviated: bytes
    card: bytes
    latest: str | None
    modified: str | None
    summary: str
    upstream_etag: str | None = None

    @classmethod
    def of(cls, doc: pk.Packument, upstream_etag: str | None = None) -> Documents:
        full = dumps(doc)
        return cls(
            name=doc["name"],
            full=full,
            digest=hashlib.sha256(full).hexdigest(),
            abbreviated=dumps(abbreviate(doc)),
            card=dumps(search_card(doc)),
            latest=pk.latest_version(doc),
            modified=pk.modified(doc),
            summary=pk.summary(doc),
            upstream_etag=upstream_etag,
        )

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
