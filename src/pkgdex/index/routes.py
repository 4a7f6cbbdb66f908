"""The OSMA-compatible name-index API, one per ecosystem: ``/pypi/...`` and ``/npm/...``.

Same paths, parameters, bounds, field names and error shapes as the originals (FastAPI's
``detail`` for 4xx, ``{"error": "Rate limit exceeded: ..."}`` for 429), so an OSMA client only
changes its base URL. Answers are serialised with orjson straight from the query layer's
dataclasses: search answers hundreds of rows and must stay within a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from limits import RateLimitItem
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from pkgdex.config import Settings
from pkgdex.deps import SettingsDep
from pkgdex.index import osma, queries
from pkgdex.index.queries import ECOSYSTEMS
from pkgdex.index.reloads import IndexReloads
from pkgdex.ratelimit import RateLimit

MAX_LIMIT = 500
# page * limit must stay far inside a 64-bit integer on every backend; no registry comes close.
MAX_PAGE = 10_000_000
PONG = b'{"ping":"pong"}'
# No package name contains a control character (and PostgreSQL cannot even bind a NUL), so a
# query holding one is refused as a bad parameter rather than searched.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"

T = TypeVar("T")
SecretParam = Annotated[str, Query(description="The server's configured secret.")]


def render_429(_request: Request, item: RateLimitItem, headers: dict[str, str]) -> Response:
    """The original's 429 body, naming the window that tripped."""
    body = orjson.dumps({"error": f"Rate limit exceeded: {item}"})
    return Response(body, status_code=429, media_type="application/json", headers=headers)


def json_response(
    payload: Any, headers_from: Response | None = None, status: int = 200
) -> Response:
    """Serialise with orjson, keeping headers dependencies set (the X-RateLimit-* ones)."""
    response = Response(orjson.dumps(payload), status_code=status, media_type="application/json")
    if headers_from is not None:
        for key, value in headers_from.headers.items():
            if key != "content-length":
                response.headers[key] = value
    return response


def pong() -> Response:
    return Response(PONG, media_type="application/json")


async def fast_ping(_request: Request) -> Response:
    return pong()


def add_ping_routes(app: FastAPI) -> None:
    """Serve ``/ping`` as plain Starlette routes ahead of the API routers.

    FastAPI's per-request machinery (dependency solving, validation, serialisation) triples the
    cost of this trivial answer, and ``/ping`` must sustain 5,000 requests/s on one worker.
    Middleware (CORS, request ids) still applies.
    """
    for ecosystem in ECOSYSTEMS:
        path = f"/{ecosystem}/ping"
        app.add_route(path, fast_ping, methods=["GET", "HEAD"], include_in_schema=False)


def engine(request: Request) -> Engine:
    value: Engine = request.app.state.engine
    return value


async def in_thread(request: Request, query: Callable[..., T], *args: Any) -> T:
    """``query(conn, *args)`` on a pooled connection, in one worker-thread hop."""
    return await run_in_threadpool(_with_connection, engine(request), query, *args)


def _with_connection(engine: Engine, query: Callable[..., T], *args: Any) -> T:
    with engine.connect() as conn:
        return query(conn, *args)


def get_reloads(request: Request) -> IndexReloads:
    reloads: IndexReloads = request.app.state.index_reloads
    return reloads


ReloadsDep = Annotated[IndexReloads, Depends(get_reloads)]


def make_router(ecosystem: str, settings: Settings) -> APIRouter:
    """The routes of one ecosystem's index API."""
    router = APIRouter(prefix=f"/{ecosystem}", tags=[f"{ecosystem}-index"])

    def limited(route: str) -> list[Any]:
        # Each route counts on its own, as the original's per-route limits did.
        scope = f"index-{ecosystem}-{route}"
        return [Depends(RateLimit(scope, settings.rate_limit_index, render_429))]

    # Served by add_ping_routes; these document it (one route per method: each needs its own
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
        return json_response(await in_thread(request, osma.stats, ecosystem))

    @router.get("/browse", dependencies=limited("browse"), responses=osma.BROWSE_DOC)
    async def browse(
        request: Request,
        response: Response,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 200,
    ) -> Response:
        """Every name in ``no`` order, a page at a time (page 10,000 is as fast as page 1)."""
        rows = await in_thread(request, queries.browse, ecosystem, page, limit)
        return json_response({"page": page, "limit": limit, "results": rows}, response)

    @router.get("/search", dependencies=limited("search"), responses=osma.SEARCH_DOC)
    async def search(
        request: Request,
        response: Response,
        q: Annotated[str, Query(min_length=2, max_length=100, pattern=NO_CONTROL_CHARACTERS)],
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 250,
    ) -> Response:
        """Exact (rank 0), prefix (1) and substring (2) matches, by rank then name."""
        hits = await in_thread(request, queries.search, ecosystem, q, limit)
        return json_response({"query": q, "count": len(hits), "results": hits}, response)

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
