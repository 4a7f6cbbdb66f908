"""The npm registry read API (pull-through cache of packuments)."""

from __future__ import annotations

from fastapi import FastAPI

from pkgdex.errors import use_shape_for
from pkgdex.fastroutes import add_fast_routes
from pkgdex.npmregistry.memory import AnswerMemory
from pkgdex.npmregistry.responses import error_shape
from pkgdex.npmregistry.routes import fast_routes, router


def register(app: FastAPI) -> None:
    """Attach this domain's routes to ``app`` (the upstream client is the metadata domain's)."""
    app.include_router(router)
    add_fast_routes(app, fast_routes())
    use_shape_for(app, "/registry/npm/", error_shape)
    app.state.npm_memory = AnswerMemory()  # this process's recent answers
