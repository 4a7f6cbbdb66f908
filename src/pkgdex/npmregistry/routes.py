"""``/registry/npm/``: npm's registry read API, as a pull-through cache.

npm escapes a scope's slash (``@scope%2fname``); the server decodes it before routing, so both
``@scope%2fname`` and ``@scope/name`` arrive here as two path segments, told apart from
``name/version`` by the ``@``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match, Route
from starlette.types import Scope

from pkgdex.afteranswer import AfterAnswer
from pkgdex.deps import ConnectionDep
from pkgdex.npmregistry import responses
from pkgdex.npmregistry.responses import PackageLookup
from pkgdex.npmregistry.search import SearchQuery, search
from pkgdex.npmregistry.search_params import InvalidSearchError, parse_search
from pkgdex.npmregistry.services import NpmRegistry
from pkgdex.routing import get_and_head, rest_of_path

router = APIRouter(prefix="/registry/npm", tags=["npm-registry"])
get = get_and_head(router)
RegistryDep = Annotated[NpmRegistry, Depends(NpmRegistry.from_request)]


@get("/-/ping")
def ping() -> Response:
    """npm ping: the registry answers."""
    return responses.json_response({})


@get("/-/v1/search")
def search_packages(request: Request, conn: ConnectionDep) -> Response:
    """npm search over the name index: ranked exact > prefix > contains, then by downloads."""
    return responses.json_response(search(conn, _search_query(request)))


@get("/-/package/{name}/dist-tags")
async def dist_tags(name: str, registry: RegistryDep) -> Response:
    """``npm dist-tag ls NAME``: the package's dist-tags."""
    lookup = PackageLookup(registry, name)
    return await _in_thread(lookup, responses.dist_tags_response, lookup)


@get("/-/package/{scope}/{name}/dist-tags")
async def scoped_dist_tags(scope: str, name: str, registry: RegistryDep) -> Response:
    """``npm dist-tag ls @scope/name`` (npm escapes the slash; both spellings arrive here)."""
    lookup = _scoped(registry, scope, name)
    return await _in_thread(lookup, responses.dist_tags_response, lookup)


@get(f"/-/{rest_of_path('endpoint')}")
def other_registry_endpoint(endpoint: str) -> Response:
    """``/-/...`` names registry endpoints, never packages: those pkgdex lacks are npm's 404."""
    raise responses.not_found()


@get("/{name}/-/{file}")
async def tarball(name: str, file: str, registry: RegistryDep) -> Response:
    """A tarball of an unscoped package: a redirect to the upstream's URL for it."""
    lookup = PackageLookup(registry, name)
    return await _in_thread(lookup, responses.tarball_redirect, lookup, file)


@get("/{scope}/{name}/-/{file}")
async def scoped_tarball(scope: str, name: str, file: str, registry: RegistryDep) -> Response:
    """A tarball of a scoped package (``@scope/name/-/name-1.0.0.tgz``)."""
    lookup = _scoped(registry, scope, name)
    return await _in_thread(lookup, responses.tarball_redirect, lookup, file)


@get("/{name}")
async def packument(name: str, request: Request, registry: RegistryDep) -> Response:
    """The packument of an unscoped package (abbreviated when the client asks for install-v1)."""
    return await _answer(request, PackageLookup(registry, name), None)


@get("/{first}/{second}")
async def packument_or_version(
    first: str, second: str, request: Request, registry: RegistryDep
) -> Response:
    """``@scope/name`` (a scoped packument) or ``name/<version|tag>``."""
    if first.startswith("@"):
        return await _answer(request, PackageLookup(registry, f"{first}/{second}"), None)
    return await _answer(request, PackageLookup(registry, first), second)


@get("/{scope}/{name}/{version}")
async def scoped_version(
    scope: str, name: str, version: str, request: Request, registry: RegistryDep
) -> Response:
    """``@scope/name/<version|tag>``."""
    return await _answer(request, _scoped(registry, scope, name), version)


@get(f"/{rest_of_path('path')}", documented=False)
def unknown_path() -> Response:
    """Any other path under the registry (empty segments, four or more): npm's 404, as the
    registry answers, not the app's own."""
    raise responses.not_found()


class _PackageRoute(Route):
    """A plain route for package paths only: a segment that is just "-" makes the path a
    registry endpoint (``/-/ping``, ``/-/v1/search``) or a tarball (``/<name>/-/<file>``),
    which the API routes answer, so such paths do not match here."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and "-" in child["path_params"].values():
            return Match.NONE, {}
        return match, child


def fast_routes() -> list[Route]:
    """Packuments and versions as plain routes ahead of every router (``pkgdex.fastroutes``):
    the same handlers without FastAPI's route matching and dependency solving, which cost
    more than an answer from memory (about 0.7 ms of a miss). The API routes above document
    them and answer the other methods."""
    paths = {
        "/registry/npm/{name}": _fast_packument,
        "/registry/npm/{first}/{second}": _fast_packument_or_version,
        "/registry/npm/{scope}/{name}/{version}": _fast_scoped_version,
    }
    methods = ["GET", "HEAD"]
    return [
        _PackageRoute(p, fn, methods=methods, include_in_schema=False) for p, fn in paths.items()
    ]


async def _fast_packument(request: Request) -> Response:
    registry = await NpmRegistry.from_request(request)
    return await packument(request.path_params["name"], request, registry)


async def _fast_packument_or_version(request: Request) -> Response:
    params, registry = request.path_params, await NpmRegistry.from_request(request)
    return await packument_or_version(params["first"], params["second"], request, registry)


async def _fast_scoped_version(request: Request) -> Response:
    params, registry = request.path_params, await NpmRegistry.from_request(request)
    scope, name, version = params["scope"], params["name"], params["version"]
    return await scoped_version(scope, name, version, request, registry)


def _scoped(registry: NpmRegistry, scope: str, name: str) -> PackageLookup:
    """``@scope/name`` from a path's two segments; npm's 404 when the first is no scope."""
    if not scope.startswith("@"):
        raise responses.not_found()
    return PackageLookup(registry, f"{scope}/{name}")


async def _answer(request: Request, lookup: PackageLookup, version: str | None) -> Response:
    """From this process's memory on the event loop when it can; otherwise in the thread pool
    (database reads, upstream calls)."""
    if (remembered := responses.from_memory(request, lookup, version)) is not None:
        return _with_later_work(lookup, remembered)  # a gzip to make for the next answers
    if version is None:
        return await _in_thread(lookup, responses.packument_response, request, lookup)
    return await _in_thread(lookup, responses.version_response, request, lookup, version)


async def _in_thread(
    lookup: PackageLookup, answer: Callable[..., Response], *args: Any
) -> Response:
    """``answer(*args)`` in the thread pool; a miss's store runs after the response."""
    after = lookup.registry.later
    try:
        response = await run_in_threadpool(answer, *args)
    except Exception:
        if isinstance(after, AfterAnswer):  # the error's response will not run it
            await run_in_threadpool(after.run)
        raise
    except BaseException:  # cancelled: no response at all, yet a held key must be let go
        if isinstance(after, AfterAnswer):
            after.run()
        raise
    return _with_later_work(lookup, response)


def _with_later_work(lookup: PackageLookup, response: Response) -> Response:
    """``response``, set to run the work its request left for later once it has gone."""
    after = lookup.registry.later
    return after.after(response) if isinstance(after, AfterAnswer) else response


def _search_query(request: Request) -> SearchQuery:
    try:
        return parse_search(request.query_params)
    except InvalidSearchError as exc:
        raise responses.bad_request(str(exc)) from exc
