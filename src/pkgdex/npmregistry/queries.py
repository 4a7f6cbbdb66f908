"""Reads of the npmregistry store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from pkgdex.npmregistry.models import npm_packuments

NEGATIVE = 404


@dataclass(frozen=True)
class StoredPackument:
    """One cached answer: a packument (``status`` 200) or a remembered upstream 404."""

    name: str
    status: int
    doc: bytes | None
    abbreviated: bytes | None
    digest: str | None
    latest: str | None
    upstream_etag: str | None
    fetched_at: float

    @property
    def negative(self) -> bool:
        return self.status == NEGATIVE


_COLUMNS = (
    npm_packuments.c.name,
    npm_packuments.c.status,
    npm_packuments.c.doc,
    npm_packuments.c.abbreviated,
    npm_packuments.c.digest,
    npm_packuments.c.latest,
    npm_packuments.c.upstream_etag,
    npm_packuments.c.fetched_at,
)


def stored_packument(conn: Connection, name: str) -> StoredPackument | None:
    row = conn.execute(select(*_COLUMNS).where(npm_packuments.c.name == name)).first()
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
