"""``/-/v1/search``: npm's search response over pkgdex's name index.

Hits come from the name index (ranked exact > prefix > contains, then by downloads; several
words find the names that contain them all, ``parse_terms``); each is
dressed in npm's shape from its stored packument's search card when pkgdex has fetched it, else
from the index row alone (no maintainers, no date: npm prints those as empty).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from pkgdex.index import queries as index_queries
from pkgdex.index.queries import PackageDetails, SearchHit
from pkgdex.npmregistry import queries
from pkgdex.npmregistry.cards import npm_link

ECOSYSTEM = "npm"
DEFAULT_SIZE = 20
MAX_SIZE = 250
# Matches ranked per search (exact, prefix and substring tiers, each by downloads); also the
# cap of ``total``.
CANDIDATES = 1000
CONTAINS_POOL = 3_000  # substring matches ranked by downloads (past it, name order decides)
# npm's default weights (libnpmsearch): quality, popularity, maintenance.
WEIGHTS = (0.65, 0.98, 0.5)
# About 100 million downloads a month is as popular as a package gets.
POPULARITY_CEILING = math.log10(100_000_000)
MAINTENANCE_HALF_LIFE_DAYS = 365.0
QUALIFIERS = frozenset({"keywords", "author", "maintainer", "scope", "not", "is", "boost-exact"})
NAME_LIKE_QUALIFIERS = frozenset({"keywords", "author", "maintainer"})
TIME_FORMAT = "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)"


@dataclass(frozen=True)
class SearchQuery:
    text: str
    size: int = DEFAULT_SIZE
    offset: int = 0


def search(conn: Connection, query: SearchQuery) -> dict[str, Any]:
    """The whole ``/-/v1/search`` response for ``query``."""
    hits = _ranked(conn, query.text)
    page = hits[query.offset : query.offset + query.size]
    details = index_queries.package_details(conn, ECOSYSTEM, [hit.name for hit in page])
    cards = queries.search_cards(conn, [hit.name for hit in page])
    objects = [_object(hit, details.get(hit.name), cards.get(hit.name)) for hit in page]
    now = time.strftime(TIME_FORMAT, time.gmtime())
    return {"objects": objects, "total": len(hits), "time": now}


@dataclass(frozen=True)
class Terms:
    """What ``text`` asks for: words every name must contain, and a scope to stay within."""

    words: tuple[str, ...]
    scope: str | None = None


def parse_terms(text: str) -> Terms:
    """npm's search text: words, and ``qualifier:value`` tokens. ``scope:`` is honoured;
    ``keywords:``, ``author:`` and ``maintainer:`` values are searched as names when no plain
    word is given (the name index holds names, not keywords or people); ``not:``, ``is:`` and
    ``boost-exact:`` are accepted and have no effect."""
    words: list[str] = []
    values: list[str] = []
    scope = None
    for token in text.split():
        key, colon, value = token.partition(":")
        key = key.lower()
        if not colon or key not in QUALIFIERS:
            words.append(token)
        elif key == "scope" and value.strip("@"):
            scope = value.strip("@").lower()
        elif key in NAME_LIKE_QUALIFIERS:
            values.extend(v for v in value.split(",") if v)
    return Terms(tuple(words or values), scope)


def _ranked(conn: Connection, text: str) -> list[SearchHit]:
    """``_tiers`` of the search's words: several words rank the names spelled with them joined
    by hyphens ("left pad": left-pad) first, then every other name that contains them all."""
    terms = parse_terms(text)
    words = terms.words or ((f"@{terms.scope}/",) if terms.scope else ())
    if not words:
        return []
    hits = _tiers(conn, "-".join(words))
    if len(words) > 1:
        seen = {hit.name for hit in hits}
        lowered = [word.lower() for word in words]
        hits += [
            replace(hit, rank=2)  # a match of the words, not of the text: the contains tier
            for hit in _tiers(conn, max(words, key=len))
            if hit.name not in seen and all(word in hit.name.lower() for word in lowered)
        ]
    if terms.scope is not None:
        hits = [hit for hit in hits if hit.name.lower().startswith(f"@{terms.scope}/")]
    return hits[:CANDIDATES]


def _tiers(conn: Connection, text: str) -> list[SearchHit]:
    """Exact, then prefix, then substring matches, each tier by downloads (up to CANDIDATES)."""
    prefix = queries.popular_prefix_hits(conn, text, CANDIDATES)
    if len(prefix) >= CANDIDATES:  # the substring matches would rank past the cap
        exact = [hit for hit in index_queries.search(conn, ECOSYSTEM, text, 1) if hit.rank == 0]
        return (exact + prefix)[:CANDIDATES]
    # The name index gives substring matches in name order: as many as CONTAINS_POOL are
    # ranked by downloads, so a popular one late in the alphabet ("style-loader" for "loader")
    # is not cut off by obscure ones before it.
    pool = len(prefix) + 1 + CONTAINS_POOL
    tiers = index_queries.search_by_popularity(conn, ECOSYSTEM, text, pool)
    exact = [hit for hit, _ in tiers if hit.rank == 0]
    contains = [(hit, downloads or 0) for hit, downloads in tiers if hit.rank == 2]
    contains.sort(key=lambda pair: -pair[1])  # stable: name order among equal downloads
    return (exact + prefix + [hit for hit, _ in contains])[:CANDIDATES]


def _month_start(details: PackageDetails | None) -> str | None:
    """A package known only from the name index: the start of its latest release's month
    (npm's clients expect a date; the index knows no finer one)."""
    month = details.month if details is not None else None
    return f"{month}-01T00:00:00.000Z" if month else None


def _downloads(details: PackageDetails | None) -> int:
    return details.popularity or 0 if details is not None else 0


def _object(
    hit: SearchHit, details: PackageDetails | None, card_json: bytes | None
) -> dict[str, Any]:
    card = orjson.loads(card_json) if card_json else {}
    summary = details.summary if details is not None else None
    downloads = _downloads(details)
    package: dict[str, Any] = {
        "name": hit.name,
        "scope": _scope(hit.name),
        "version": hit.version,
        "description": card.get("description") or summary or "",
        "keywords": card.get("keywords", []),
        "date": card.get("date") or _month_start(details),
        "links": card.get("links") or {"npm": npm_link(hit.name)},
        "maintainers": card.get("maintainers", []),
    }
    if card.get("publisher"):
        package["publisher"] = card["publisher"]
    detail = _score_detail(card, downloads)
    final = sum(w * detail[k] for w, k in zip(WEIGHTS, _DETAIL_KEYS, strict=True)) / sum(WEIGHTS)
    result: dict[str, Any] = {
        "package": package,
        "score": {"final": round(final, 6), "detail": detail},
        "searchScore": _search_score(hit, detail["popularity"]),
    }
    if card.get("flags"):
        result["flags"] = card["flags"]
    return result


_DETAIL_KEYS = ("quality", "popularity", "maintenance")


def _score_detail(card: dict[str, Any], downloads: int | None) -> dict[str, float]:
    popularity = min(1.0, math.log10(1 + downloads) / POPULARITY_CEILING) if downloads else 0.0
    # Quality: how much a user learns before installing it; maintenance: how recent it is.
    known = ("description", "keywords", "license")
    quality = sum(1 for key in known if card.get(key)) / len(known) if card else 0.0
    links = card.get("links", {})
    quality = (quality * 3 + (1.0 if links.get("repository") else 0.0)) / 4
    return {
        "quality": round(quality, 6),
        "popularity": round(popularity, 6),
        "maintenance": round(_maintenance(card.get("date")), 6),
    }


def _maintenance(date: str | None) -> float:
    if not date:
        return 0.0
    try:
        published = datetime.fromisoformat(date.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if published.tzinfo is None:  # "2017-07-17T02:40:00.000" (old packuments): UTC, as npm's
        published = published.replace(tzinfo=UTC)
    days = max(0.0, (datetime.now(UTC) - published).total_seconds() / 86_400)
    return float(0.5 ** (days / MAINTENANCE_HALF_LIFE_DAYS))


def _search_score(hit: SearchHit, popularity: float) -> float:
    """Agrees with the order served: the match tier first, then popularity within a tier."""
    tier = 3 - hit.rank  # the index's rank: 0 exact, 1 prefix, 2 substring
    return round(tier + popularity * 0.999, 6)


def _scope(name: str) -> str:
    return name[1:].split("/", 1)[0] if name.startswith("@") else "unscoped"
