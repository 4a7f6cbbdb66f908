"""PyPI's JSON API (``/pypi/<project>[/<version>]/json``) and the Simple API (``/simple/``).

The ``/pypi/ping``-style single-segment paths belong to the name index; these are only the
``*/json`` paths (each also answered with a trailing slash, 200 rather than a redirect).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from packaging.utils import canonicalize_name
from starlette.routing import Route

from pkgdex.deps import ConnectionDep
from pkgdex.metadata import answers
from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.negotiation import HTML, NotAcceptableError, choose_format
from pkgdex.metadata.responses import SIMPLE_CACHE, answer, answer_fast, moved
from pkgdex.routing import get_and_head

router = APIRouter(tags=["pypi-metadata"])
get = get_and_head(router)


async def get_pypi_cache(request: Request) -> PyPICache:  # async: no thread hop
    cache: PyPICache = request.app.state.pypi_cache
    return cache


PyPICacheDep = Annotated[PyPICache, Depends(get_pypi_cache)]
FormatQuery = Annotated[str | None, Query(alias="format", description="PEP 691 content type.")]


def _suffix(request: Request) -> str:
    return "/" if request.url.path.endswith("/") else ""


@get("/pypi/{project}/json")
@get("/pypi/{project}/json/", documented=False)
async def project_json(project: str, request: Request, cache: PyPICacheDep) -> Response:
    """The project as pypi.org's JSON API describes it (its latest release, every release)."""
    return await answer_fast(
        request,
        lambda: answers.from_memory(cache, project, ("json",)),
        lambda: answers.project_json(cache, project, _suffix(request)),
    )


@get("/pypi/{project}/{version}/json")
@get("/pypi/{project}/{version}/json/", documented=False)
async def release_json(
    project: str, version: str, request: Request, cache: PyPICacheDep
) -> Response:
    """One release; ``latest``, ``latest-stable``, ``latest-unstable`` redirect to a version."""
    suffix = _suffix(request)
    return await answer_fast(
        request,
        lambda: answers.from_memory(cache, project, ("release", version)),
        lambda: answers.release_json(cache, project, version, suffix),
    )


def fast_routes() -> list[Route]:
    """The JSON API and Simple API project pages as plain routes ahead of every router
    (``pkgdex.fastroutes``): the same handlers, without FastAPI's route matching and
    dependency solving, which cost more than a cached answer. The routes above document them
    and answer the other methods (405)."""
    paths = {
        "/pypi/{project}/json": _fast_project_json,
        "/pypi/{project}/{version}/json": _fast_release_json,
        "/simple/{project}/": _fast_simple_project,
    }
    methods = ["GET", "HEAD"]
    return [Route(p, fn, methods=methods, include_in_schema=False) for p, fn in paths.items()]


async def _fast_project_json(request: Request) -> Response:
    params = request.path_params
    return await project_json(params["project"], request, await get_pypi_cache(request))


async def _fast_release_json(request: Request) -> Response:
    params = request.path_params
    cache = await get_pypi_cache(request)
    return await release_json(params["project"], params["version"], request, cache)


async def _fast_simple_project(request: Request) -> Response:
    cache = await get_pypi_cache(request)
    requested = request.query_params.get("format")
    return await simple_project(request.path_params["project"], request, cache, requested)


@get("/pypi", documented=False)
@get("/pypi/")
def json_api_root() -> Response:
    """The JSON API's base URL (clients such as luddite probe it with HEAD)."""
    return Response(
        b'{"message": "PyPI JSON API: /pypi/<project>/json"}', media_type="application/json"
    )


@get("/simple/")
def simple_index(
    request: Request, conn: ConnectionDep, cache: PyPICacheDep, requested: FormatQuery = None
) -> Response:
    """PEP 503/691 project list of every project stored."""
    content_type = _negotiate(request, requested)
    if isinstance(content_type, Response):
        return content_type
    return _simple(request, content_type, lambda: answers.simple_index(cache, conn, content_type))


@get("/simple/{project}/")
async def simple_project(
    project: str, request: Request, cache: PyPICacheDep, requested: FormatQuery = None
) -> Response:
    """PEP 503/691 file list of one project, pulled through from the upstream."""
    content_type = _negotiate(request, requested)
    if isinstance(content_type, Response):
        return content_type
    return await answer_fast(
        request,
        lambda: answers.from_memory(cache, project, ("simple", content_type)),
        lambda: answers.simple_project(cache, project, content_type),
        media_type=_media_type(content_type),
        cache_control=SIMPLE_CACHE,
        vary="Accept",
    )


@get("/simple", documented=False)
def simple_index_slash(request: Request) -> Response:
    return moved(request, "/simple/")


@get("/simple/{project}", documented=False)
def simple_project_slash(project: str, request: Request) -> Response:
    """The slash appended (and the name normalised, escaped: any text may arrive here)."""
    return moved(request, f"/simple/{quote(canonicalize_name(project), safe='')}/")


def _negotiate(request: Request, requested: str | None) -> str | Response:
    try:
        return choose_format(request.headers.get("accept"), requested)
    except NotAcceptableError as exc:
        body = orjson.dumps({"message": f"Not Acceptable: {exc}"})
        return Response(body, 406, media_type="application/json", headers={"Vary": "Accept"})


def _simple(request: Request, content_type: str, make: answers.Maker) -> Response:
    media_type = _media_type(content_type)
    return answer(request, make, media_type=media_type, cache_control=SIMPLE_CACHE, vary="Accept")


def _media_type(content_type: str) -> str:
    return f"{HTML}; charset=utf-8" if content_type == HTML else content_type
