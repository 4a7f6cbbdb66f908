"""Reading the name index: search, browse, status and per-package details.

Every function reads the *serving* generation of one ecosystem (``index_state.gen``), so a load
building the next generation beside it is never visible half-done.

Search ranks 0 (exact), 1 (starts with q), 2 (contains q), case-insensitively and, for PyPI,
under PEP 503 normalisation; within a rank, hits are ordered by their search key (the name
lowercased, and for PyPI with runs of ``-_.`` read as ``-``), then by name. Every character of
``q`` is literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, bindparam, select, text

from pkgdex.index import search as backends
from pkgdex.index.keys import ECOSYSTEMS, KEY_MAX, check_ecosystem, package_url, search_key
from pkgdex.index.models import index_state

__all__ = [
    "ECOSYSTEMS",
    "IndexStatus",
    "PackageDetails",
    "PackageRow",
    "SearchHit",
    "browse",
    "index_status",
    "package_details",
    "search",
    "search_by_popularity",
]


@dataclass(frozen=True, slots=True)
class PackageRow:
    no: int
    name: str
    version: str
    url: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    no: int
    name: str
    version: str
    url: str
    rank: int


@dataclass(frozen=True, slots=True)
class IndexStatus:
    total: int
    last_updated: datetime | None
    loaded: bool  # a load has finished at least once


@dataclass(frozen=True, slots=True)
class PackageDetails:
    name: str
    version: str
    summary: str | None
    popularity: int | None  # PyPI: download rank (1 = most downloaded); npm: downloads a month
    month: str | None  # month of the latest release, YYYY-MM


# The exact match and the prefix matches in one range read: ``key`` itself sorts first.
_EXACT_AND_PREFIX = text(
    "SELECT no, name, version, key, popularity FROM index_entries "
    "WHERE ecosystem = :eco AND gen = :gen AND key >= :key AND key < :upper "
    "ORDER BY key LIMIT :limit"
)
_BROWSE = text(
    "SELECT no, name, version FROM index_entries "
    "WHERE ecosystem = :eco AND gen = (SELECT gen FROM index_state WHERE ecosystem = :eco) "
    "AND bpos BETWEEN :first AND :last ORDER BY bpos"
)
_STATE = select(index_state).where(index_state.c.ecosystem == bindparam("eco"))


def search(conn: Connection, ecosystem: str, q: str, limit: int) -> list[SearchHit]:
    """Up to ``limit`` hits for ``q``, exact first, then prefix, then substring matches."""
    return [_hit(ecosystem, rank, row) for rank, row in _search_rows(conn, ecosystem, q, limit)]


def search_by_popularity(
    conn: Connection, ecosystem: str, q: str, limit: int
) -> list[tuple[SearchHit, int | None]]:
    """``search``'s hits, each with its popularity (as ``PackageDetails.popularity``), read
    with its row: ranking thousands of substring matches by it then needs no second lookup
    (3,000 names looked up by key took longer than finding them)."""
    return [
        (_hit(ecosystem, rank, row), row["popularity"])
        for rank, row in _search_rows(conn, ecosystem, q, limit)
    ]


def _search_rows(
    conn: Connection, ecosystem: str, q: str, limit: int
) -> list[tuple[int, RowMapping]]:
    """(tier, row) of ``search``'s hits: 0 exact, 1 prefix, 2 substring."""
    state = _serving(conn, check_ecosystem(ecosystem))
    key = search_key(ecosystem, q)
    if state is None or not key or limit < 1 or "\x00" in key:  # no name holds a NUL
        return []
    params = {"eco": ecosystem, "gen": state["gen"], "key": key, "upper": key + KEY_MAX}
    # .all() fetches every row in one driver call; iterating a result fetches them one by one,
    # which costs about as much again as the query for a full page.
    rows = conn.execute(_EXACT_AND_PREFIX, {**params, "limit": limit}).mappings().all()
    ranked = [(0 if row["key"] == key else 1, row) for row in rows]
    if len(ranked) < limit:
        window = backends.Window(state["gen"], state["first_id"], state["last_id"])
        found = backends.contains(conn, ecosystem, window, key, limit - len(ranked))
        ranked += [(2, row) for row in found]
    return ranked[:limit]


def browse(conn: Connection, ecosystem: str, page: int, limit: int) -> list[PackageRow]:
    """Page ``page`` (1-based) of ``limit`` packages in ``no`` order; a direct range lookup."""
    first = (page - 1) * limit + 1
    params = {"eco": check_ecosystem(ecosystem), "first": first, "last": first + limit - 1}
    return [
        PackageRow(row.no, row.name, row.version, package_url(ecosystem, row.name))
        for row in conn.execute(_BROWSE, params).all()
    ]


def index_status(conn: Connection, ecosystem: str) -> IndexStatus:
    state = conn.execute(_STATE, {"eco": check_ecosystem(ecosystem)}).mappings().first()
    if state is None:
        return IndexStatus(total=0, last_updated=None, loaded=False)
    return IndexStatus(
        total=state["total"],
        last_updated=_aware(state["last_updated"]),
        loaded=bool(state["loaded"]),
    )


def package_details(
    conn: Connection, ecosystem: str, names: list[str]
) -> dict[str, PackageDetails]:
    """What the index knows about ``names`` (matched by search key); unknown names left out."""
    keys = {
        search_key(check_ecosystem(ecosystem), name): name for name in names if "\x00" not in name
    }
    if not keys:
        return {}
    stmt = text(
        "SELECT key, name, version, summary, popularity, month FROM index_entries "
        "WHERE ecosystem = :eco AND gen = (SELECT gen FROM index_state WHERE ecosystem = :eco) "
        "AND key IN :keys"
    ).bindparams(bindparam("keys", expanding=True))
    rows = conn.execute(stmt, {"eco": ecosystem, "keys": list(keys)}).mappings()
    return {
        keys[row["key"]]: PackageDetails(
            row["name"], row["version"], row["summary"], row["popularity"], row["month"]
        )
        for row in rows
    }


def _serving(conn: Connection, ecosystem: str) -> RowMapping | None:
    state = conn.execute(_STATE, {"eco": ecosystem}).mappings().first()
    return state if state is not None and state["total"] > 0 else None


def _hit(ecosystem: str, rank: int, row: RowMapping) -> SearchHit:
    name = row["name"]
    return SearchHit(row["no"], name, row["version"], package_url(ecosystem, name), rank)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
