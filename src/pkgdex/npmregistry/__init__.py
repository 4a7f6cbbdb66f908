"""The npm registry read API (pull-through cache of packuments)."""

from __future__ import annotations

from fastapi import FastAPI

from pkgdex.npmregistry.memory import AnswerMemory
from pkgdex.npmregistry.routes import router


def register(app: FastAPI) -> None:
    """Attach this domain's routes to ``app`` (the upstream client is the metadata domain's)."""
    app.include_router(router)
    app.state.npm_memory = AnswerMemory()  # this process's recent answers
