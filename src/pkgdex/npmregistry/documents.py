"""The documents pkgdex keeps for one packument, made once from the parsed upstream answer.

A miss answers as soon as the document it was asked for exists: the full form and its digest
(every answer's ETag) first, the install-v1 form only when asked for, and the rest (the search
card, the row) after the answer has gone.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry import queries
from pkgdex.npmregistry.cards import search_card
from pkgdex.npmregistry.render import abbreviate, dumps


@dataclass(frozen=True)
class Documents:
    """A checked packument with its serialised forms; the derived ones are made on first use
    (two threads asking at once both make it, which costs time but never a wrong answer)."""

    doc: pk.Packument
    full: bytes
    digest: str
    upstream_etag: str | None = None

    @classmethod
    def of(cls, doc: pk.Packument, upstream_etag: str | None = None) -> Documents:
        full = dumps(doc)
        return cls(doc, full, hashlib.sha256(full).hexdigest(), upstream_etag)

    @property
    def name(self) -> str:
        return str(self.doc["name"])

    @cached_property
    def abbreviated(self) -> bytes:
        return dumps(abbreviate(self.doc))

    @cached_property
    def latest(self) -> str | None:
        return pk.latest_version(self.doc)

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
            "modified": pk.modified(self.doc),
            "upstream_etag": self.upstream_etag,
            "card": dumps(search_card(self.doc)),
            "abbreviated": self.abbreviated,
            "doc": self.full,
        }
