"""Reads of the npmregistry store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, select

from pkgdex.npmregistry.models import npm_packuments

NEGATIVE = 404
# Which stored document a read brings along: none (freshness and ETag only), full, install-v1.
Body = Literal["doc", "abbreviated"] | None


@dataclass(frozen=True)
class StoredPackument:
    """One cached answer: a packument (``status`` 200) or a remembered upstream 404."""

    name: str
    status: int
    fetched_at: float
    digest: str | None
    latest: str | None
    upstream_etag: str | None
    body: bytes | None = None  # the document asked for, when one was

    @property
    def negative(self) -> bool:
        return self.status == NEGATIVE


_COLUMNS = (
    npm_packuments.c.name,
    npm_packuments.c.status,
    npm_packuments.c.fetched_at,
    npm_packuments.c.digest,
    npm_packuments.c.latest,
    npm_packuments.c.upstream_etag,
)


def stored_packument(conn: Connection, name: str, body: Body = None) -> StoredPackument | None:
    """The stored row of ``name`` with only the document ``body`` names (documents are big)."""
    columns = (*_COLUMNS, npm_packuments.c[body]) if body else _COLUMNS
    row = conn.execute(select(*columns).where(npm_packuments.c.name == name)).first()
    return StoredPackument(*row) if row is not None else None


def search_cards(conn: Connection, names: Iterable[str]) -> dict[str, bytes]:
    """The stored search cards (JSON) of those ``names`` pkgdex has packuments for."""
    wanted = list(names)
    if not wanted:
        return {}
    query = select(npm_packuments.c.name, npm_packuments.c.card).where(
        npm_packuments.c.name.in_(wanted), npm_packuments.c.card.is_not(None)
    )
    return {row.name: row.card for row in conn.execute(query)}
