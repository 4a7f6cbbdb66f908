"""Reads of the npmregistry store."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Select, bindparam, func, select

from pkgdex.index.keys import KEY_MAX, package_url, search_key
from pkgdex.index.models import index_entries, index_state
from pkgdex.index.queries import SearchHit
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
    row = conn.execute(_stored_select(body), {"name": name}).first()
    return StoredPackument(*row) if row is not None else None


@functools.cache
def _stored_select(body: Body) -> Select[Any]:
    # Built once: making the statement anew cost a miss (which reads the row twice) about as
    # much as running it.
    columns = (*_COLUMNS, npm_packuments.c[body]) if body else _COLUMNS
    return select(*columns).where(npm_packuments.c.name == bindparam("name"))


def search_cards(conn: Connection, names: Iterable[str]) -> dict[str, bytes]:
    """The stored search cards (JSON) of those ``names`` pkgdex has packuments for."""
    wanted = list(names)
    if not wanted:
        return {}
    query = select(npm_packuments.c.name, npm_packuments.c.card).where(
        npm_packuments.c.name.in_(wanted), npm_packuments.c.card.is_not(None)
    )
    return {row.name: row.card for row in conn.execute(query)}


PREFIX_TIER = 1  # SearchHit.rank of a prefix match in the name index


def popular_prefix_hits(conn: Connection, text: str, limit: int) -> list[SearchHit]:
    """npm names starting with ``text`` (not equal to it), most downloaded first.

    The name index returns prefix matches in name order and stops at its limit, so for a
    short prefix ("react": thousands of names) the popular ones can fall past it; npm search
    wants them first.
    """
    key = search_key("npm", text)
    serving = select(index_state.c.gen).where(index_state.c.ecosystem == "npm")
    entries = index_entries.c
    query = (
        select(entries.no, entries.name, entries.version)
        .where(
            entries.ecosystem == "npm",
            entries.gen == serving.scalar_subquery(),
            entries.key > key,
            entries.key < key + KEY_MAX,
        )
        .order_by(func.coalesce(entries.popularity, 0).desc(), entries.key)
        .limit(limit)
    )
    return [
        SearchHit(row.no, row.name, row.version, package_url("npm", row.name), PREFIX_TIER)
        for row in conn.execute(query)
    ]
