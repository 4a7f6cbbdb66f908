"""The OSMA-compatible name-index API, one per ecosystem: ``/pypi/...`` and ``/npm/...``.

Same paths, parameters, bounds, field names and error shapes as the originals (FastAPI's
``detail`` for 4xx, ``{"error": "Rate limit exceeded: ..."}`` for 429), so an OSMA client only
changes its base URL. Answers are serialised with orjson straight from the query layer's
dataclasses: search answers hundreds of rows and must stay within a few milliseconds.

Well-formed ``/search`` and ``/browse`` requests (the parameters a client normally sends) are
answered by plain Starlette routes placed ahead of the FastAPI ones, which cost several times
more per request than the answer's own Python work; every other request (a parameter missing,
out of range or spelled unusually, another method) falls through to the FastAPI route, which
validates and answers it exactly as before. The FastAPI routes also document the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from limits import RateLimitItem
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.routing import Match, Route
from starlette.types import Scope

from pkgdex.config import Settings
from pkgdex.db import is_sqlite
from pkgdex.deps import SettingsDep
from pkgdex.index import osma, queries
from pkgdex.index.queries import ECOSYSTEMS, PackageRow, SearchHit
from pkgdex.index.reloads import IndexReloads
from pkgdex.ratelimit import RateLimit

MAX_LIMIT = 500
Q_MIN_LENGTH, Q_MAX_LENGTH = 2, 100
# page * limit must stay far inside a 64-bit integer on every backend; no registry comes close.
MAX_PAGE = 10_000_000
PONG = b'{"ping":"pong"}'
# No package name contains a control character (and PostgreSQL cannot even bind a NUL), so a
# query holding one is refused as a bad parameter rather than searched.
CONTROL_CHARACTERS = r"\x00-\x1f\x7f"
NO_CONTROL_CHARACTERS = f"^[^{CONTROL_CHARACTERS}]*$"
_CONTROL_CHARACTER = re.compile(f"[{CONTROL_CHARACTERS}]")
SEARCH_DEFAULT_LIMIT = 250
BROWSE_DEFAULT_LIMIT = 200
# The scope key where a well-formed request's parsed parameters travel to its endpoint.
PARSED = "pkgdex.index.parameters"

T = TypeVar("T")
SecretParam = Annotated[str, Query(description="The server's configured secret.")]


def render_429(_request: Request, item: RateLimitItem, headers: dict[str, str]) -> Response:
    """The original's 429 body, naming the window that tripped."""
    body = orjson.dumps({"error": f"Rate limit exceeded: {item}"})
    return Response(body, status_code=429, media_type="application/json", headers=headers)


def json_response(
    payload: Any, headers: Mapping[str, str] | None = None, status: int = 200
) -> Response:
    """Serialise with orjson, adding ``headers`` (the X-RateLimit-* ones)."""
    response = Response(orjson.dumps(payload), status_code=status, media_type="application/json")
    if headers:
        for key, value in headers.items():
            if key != "content-length":  # a dependency's blank response carries its own "0"
                response.headers[key] = value
    return response


def search_answer(q: str, hits: list[SearchHit]) -> dict[str, Any]:
    results = [
        {"no": h.no, "name": h.name, "version": h.version, "url": h.url, "rank": h.rank}
        for h in hits
    ]
    return {"query": q, "count": len(hits), "results": results}


def browse_answer(page: int, limit: int, rows: list[PackageRow]) -> dict[str, Any]:
    results = [{"no": r.no, "name": r.name, "version": r.version, "url": r.url} for r in rows]
    return {"page": page, "limit": limit, "results": results}


# The two answers above hand orjson dicts rather than the query layer's dataclasses: orjson
# reads a slots dataclass field by field through Python attribute lookups, which made it three
# to four times slower for a page of 250 hits. The keys follow the fields' order, so the bytes
# are the same (a test compares them).


def pong() -> Response:
    return Response(PONG, media_type="application/json")


async def fast_ping(_request: Request) -> Response:
    return pong()


def fast_routes(settings: Settings) -> list[Route]:
    """``/ping``, and well-formed ``/search`` and ``/browse`` requests, as plain Starlette
    routes to put ahead of the API routers (``pkgdex.fastroutes``).

    FastAPI's per-request machinery (dependency solving, validation, serialisation) triples the
    cost of a trivial answer, and ``/ping`` must sustain 5,000 requests/s on one worker.
    Middleware (CORS, request ids) and the error handlers still apply.
    """
    routes: list[Route] = [
        Route(f"/{ecosystem}/ping", fast_ping, methods=["GET", "HEAD"], include_in_schema=False)
        for ecosystem in ECOSYSTEMS
    ]
    for ecosystem in ECOSYSTEMS:
        search_limit = index_rate_limit(ecosystem, "search", settings)
        browse_limit = index_rate_limit(ecosystem, "browse", settings)
        routes += [
            WellFormedRoute(f"/{ecosystem}/search", fast_search(search_limit), _search_params),
            WellFormedRoute(f"/{ecosystem}/browse", fast_browse(browse_limit), _browse_params),
        ]
    return routes


class WellFormedRoute(Route):
    """Takes a GET only when ``parse`` accepts its query; any other request does not match here
    and goes on to the FastAPI route for the same path."""

    def __init__(
        self, path: str, endpoint: Callable[..., Any], parse: Callable[[QueryParams], Any]
    ) -> None:
        super().__init__(path, endpoint, methods=["GET"], include_in_schema=False)
        self.ecosystem = path.split("/")[1]
        self.parse = parse

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.FULL or scope["method"] != "GET":
            return Match.NONE, {}
        parsed = self.parse(QueryParams(scope["query_string"]))
        if parsed is None:
            return Match.NONE, {}
        return match, {**child_scope, PARSED: (self.ecosystem, *parsed)}


def _search_params(params: QueryParams) -> tuple[str, int] | None:
    """``q`` and ``limit`` when FastAPI's validation would accept them unchanged, else None."""
    q = params.get("q")
    limit = _plain_int(params.get("limit"), SEARCH_DEFAULT_LIMIT, MAX_LIMIT)
    if (
        q is None
        or not Q_MIN_LENGTH <= len(q) <= Q_MAX_LENGTH
        or _CONTROL_CHARACTER.search(q)
        or limit is None
    ):
        return None
    return q, limit


def _browse_params(params: QueryParams) -> tuple[int, int] | None:
    page = _plain_int(params.get("page"), 1, MAX_PAGE)
    limit = _plain_int(params.get("limit"), BROWSE_DEFAULT_LIMIT, MAX_LIMIT)
    return None if page is None or limit is None else (page, limit)


def _plain_int(value: str | None, default: int, highest: int) -> int | None:
    """``value`` if it is plain ASCII digits for a number in 1..``highest`` (``default`` when
    absent); None for anything else, which FastAPI then judges (signs, spaces, leading zeros
    and other digits have their own rules there)."""
    if value is None:
        return default
    if not (0 < len(value) <= 8 and value.isascii() and value.isdigit()) or value[0] == "0":
        return None
    number = int(value)
    return number if number <= highest else None


def fast_search(rate_limit: RateLimit) -> Callable[[Request], Any]:
    async def search(request: Request) -> Response:
        ecosystem, q, limit = request.scope[PARSED]
        headers = await rate_limit.check(request)
        hits = await in_thread(request, queries.search, ecosystem, q, limit)
        return json_response(search_answer(q, hits), headers)

    return search


def fast_browse(rate_limit: RateLimit) -> Callable[[Request], Any]:
    async def browse(request: Request) -> Response:
        ecosystem, page, limit = request.scope[PARSED]
        headers = await rate_limit.check(request)
        rows = await single_read(request, queries.browse, ecosystem, page, limit)
        return json_response(browse_answer(page, limit, rows), headers)

    return browse


def index_rate_limit(ecosystem: str, route: str, settings: Settings) -> RateLimit:
    # Each route counts on its own, as the original's per-route limits did.
    return RateLimit(f"index-{ecosystem}-{route}", settings.rate_limit_index, render_429)


def engine(request: Request) -> Engine:
    value: Engine = request.app.state.engine
    return value


async def in_thread(request: Request, query: Callable[..., T], *args: Any) -> T:
    """``query(conn, *args)`` on a pooled connection, in one worker-thread hop."""
    return await run_in_threadpool(_with_connection, engine(request), query, *args)


def _with_connection(engine: Engine, query: Callable[..., T], *args: Any) -> T:
    with engine.connect() as conn:
        return query(conn, *args)


async def single_read(request: Request, query: Callable[..., T], *args: Any) -> T:
    """``query(conn, *args)`` for a query that is one short, bounded statement (an index range
    of at most ``MAX_LIMIT`` rows, a one-row status).

    On SQLite it runs on the event loop: in process and well under a millisecond, it costs
    less than the two thread wake-ups of a worker-thread hop (far less on a busy machine).
    A slow query must not do this: nothing else in the process runs meanwhile. On PostgreSQL it
    runs in a worker thread in autocommit: no BEGIN and ROLLBACK round trips, and since psycopg
    forgets its prepared statements at every ROLLBACK, the statement gets prepared (its plan
    cached) after a few calls instead of being planned every time.
    """
    db = engine(request)
    if is_sqlite(db):
        return _with_connection(db, query, *args)
    return await run_in_threadpool(_autocommit, db, query, *args)


def _autocommit(engine: Engine, query: Callable[..., T], *args: Any) -> T:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return query(conn, *args)


def get_reloads(request: Request) -> IndexReloads:
    reloads: IndexReloads = request.app.state.index_reloads
    return reloads


ReloadsDep = Annotated[IndexReloads, Depends(get_reloads)]


def make_router(ecosystem: str, settings: Settings) -> APIRouter:
    """The routes of one ecosystem's index API."""
    router = APIRouter(prefix=f"/{ecosystem}", tags=[f"{ecosystem}-index"])

    def limited(route: str) -> list[Any]:
        return [Depends(index_rate_limit(ecosystem, route, settings))]

    # Served by fast_routes; these document it (one route per method: each needs its own
    # operation id in the OpenAPI document).
    @router.get("/ping", responses=osma.PING_DOC)
    @router.head("/ping", name="ping_head", responses=osma.PING_DOC)
    async def ping() -> Response:
        """Liveness: never touches the database."""
        return pong()

    # The handlers below are async and take no sync dependency: their database work runs in
    # exactly one worker-thread hop (every sync dependency would cost another).

    @router.get("/health", responses=osma.HEALTH_DOC)
    async def health(request: Request) -> Response:
        """200 with the index size; 503 while a cold start is still loading the index."""
        reloads: IndexReloads = request.app.state.index_reloads
        status, body = await run_in_threadpool(osma.health, engine(request), ecosystem, reloads)
        return json_response(body, status=status)

    @router.get("/stats", responses=osma.stats_doc(ecosystem))
    async def stats(request: Request) -> Response:
        """How many names the index holds and when it was last loaded."""
        return json_response(await single_read(request, osma.stats, ecosystem))

    @router.get("/browse", dependencies=limited("browse"), responses=osma.BROWSE_DOC)
    async def browse(
        request: Request,
        response: Response,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = BROWSE_DEFAULT_LIMIT,
    ) -> Response:
        """Every name in ``no`` order, a page at a time (page 10,000 is as fast as page 1)."""
        rows = await single_read(request, queries.browse, ecosystem, page, limit)
        return json_response(browse_answer(page, limit, rows), response.headers)

    @router.get("/search", dependencies=limited("search"), responses=osma.SEARCH_DOC)
    async def search(
        request: Request,
        response: Response,
        q: Annotated[
            str,
            Query(min_length=Q_MIN_LENGTH, max_length=Q_MAX_LENGTH, pattern=NO_CONTROL_CHARACTERS),
        ],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = SEARCH_DEFAULT_LIMIT,
    ) -> Response:
        """Exact (rank 0), prefix (1) and substring (2) matches, by rank then name."""
        hits = await in_thread(request, queries.search, ecosystem, q, limit)
        return json_response(search_answer(q, hits), response.headers)

    @router.get("/debug-ip", responses=osma.DEBUG_IP_DOC)
    def debug_ip(request: Request, settings: SettingsDep) -> Response:
        """The address rate limits count against, and the forwarding headers considered."""
        return json_response(osma.debug_ip(request, settings))

    @router.get("/get-bypass", responses=osma.BYPASS_DOC)
    def get_bypass(secret: SecretParam, settings: SettingsDep) -> Response:
        """A token that skips the rate limits for an hour (``X-Bypass-Token`` header)."""
        return json_response(osma.bypass_token(settings, secret))

    @router.get("/rebuild", status_code=202, responses=osma.REBUILD_DOC)
    @router.post("/rebuild", name="rebuild_post", status_code=202, responses=osma.REBUILD_DOC)
    def rebuild(secret: SecretParam, reloads: ReloadsDep) -> Response:
        """Reload the index in the background; the current index serves until the swap."""
        return json_response(osma.start_rebuild(reloads, ecosystem, secret), status=202)

    return router
