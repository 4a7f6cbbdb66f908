"""The npm registry read API (pull-through cache of packuments)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from pkgdex.errors import use_shape_for
from pkgdex.fastroutes import add_fast_routes
from pkgdex.npmregistry.memory import AnswerMemory
from pkgdex.npmregistry.routes import fast_routes, router


def register(app: FastAPI) -> None:
    """Attach this domain's routes to ``app`` (the upstream client is the metadata domain's)."""
    app.include_router(router)
    add_fast_routes(app, fast_routes())
    use_shape_for(app, "/registry/npm/", _npm_error)
    app.state.npm_memory = AnswerMemory()  # this process's recent answers


def _npm_error(status: int, message: str, headers: dict[str, str]) -> JSONResponse:
    """npm's error shape, for errors no route raised (a method the registry does not take, an
    unexpected failure): npm prints the ``error`` string after the status."""
    if status == 405:
        message = "pkgdex serves npm's registry read API only (GET and HEAD)"
    return JSONResponse({"error": message}, status_code=status, headers=headers)
