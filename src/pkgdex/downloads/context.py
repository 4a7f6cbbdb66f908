"""How a statistics request runs: all its database work in one worker-thread hop.

The route's cheap parsing runs on the event loop; then one thread opens a connection, reads
the data's freshness (sent as ``X-Data-As-Of``/``X-Data-Synthetic`` on every answer),
resolves the date range and builds the response. A dependency per step would cost a thread
hop each, which under load was most of a small answer's latency.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from pkgdex.downloads import queries
from pkgdex.downloads.params import (
    COMPATIBLE_DAYS,
    ParameterError,
    StatsParams,
    StatsQuery,
    api_error,
    freshness_headers,
    resolve,
)
from pkgdex.downloads.rendering import sorted_json

# Work answers a Response, or a function that finishes the answer once the connection is back
# in the pool (a chart's drawing takes a hundred milliseconds it does not need the database).
Later = Callable[[], Response]
WithData = Callable[[Connection, queries.Freshness], Response | Later]
WithQuery = Callable[[Connection, StatsQuery], Response | Later]


async def run_with_data(request: Request, response: Response, work: WithData) -> Response:
    """Run ``work`` with a connection and the data's freshness, in one thread hop."""
    engine: Engine = request.app.state.engine
    return await run_in_threadpool(_with_data, engine, response, work)


def _with_data(engine: Engine, response: Response, work: WithData) -> Response:
    with engine.connect() as conn:
        fresh = queries.freshness(conn)
        response.headers.update(freshness_headers(fresh))
        answer = work(conn, fresh)
    return answer if isinstance(answer, Response) else answer()


async def run_stats(
    request: Request,
    response: Response,
    params: StatsParams,
    work: WithQuery,
    default_days: int = COMPATIBLE_DAYS,
) -> Response:
    """Run ``work`` for the resolved statistics query (range errors become the envelope)."""

    def with_query(conn: Connection, fresh: queries.Freshness) -> Response | Later:
        try:
            q = resolve(params, fresh, default_days)
        except ParameterError as exc:
            raise api_error(422, "invalid_parameter", str(exc), fresh) from None
        return work(conn, q)

    return await run_with_data(request, response, with_query)


async def json_stats(
    request: Request,
    response: Response,
    params: StatsParams,
    body: Callable[..., Any],
    *args: Any,
) -> Response:
    """The JSON answer of ``body(conn, query, *args)``."""
    return await run_stats(
        request, response, params, lambda conn, q: sorted_json(body(conn, q, *args), response)
    )
