"""``GET /``: what this server offers, so a person or a script landing on the base URL finds
every surface without reading the docs first."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

SURFACES = {
    "name_index": {
        "description": "OSMA-compatible index of every PyPI and npm package name",
        "endpoints": ["/pypi/search?q=requests", "/npm/browse?page=1&limit=20", "/pypi/stats"],
    },
    "downloads": {
        "description": "pypistats.org-compatible PyPI download statistics, charts and badges",
        "endpoints": [
            "/api/packages/requests/recent",
            "/api/packages/requests/overall",
            "/api/packages/requests/chart/python_minor",
            "/api/top?period=month",
            "/api/downloads/status",
            "/badge/pypi/requests/month.svg",
            "/pypistats-api/v1/meta",
        ],
    },
    "pypi_metadata": {
        "description": "PyPI JSON and Simple APIs as a pull-through cache",
        "endpoints": ["/pypi/pkgdex-demo/json", "/simple/", "/simple/pkgdex-demo/"],
    },
    "npm_registry": {
        "description": "npm registry read API as a pull-through cache, with search",
        "endpoints": ["/registry/npm/left-pad", "/registry/npm/-/v1/search?text=react"],
    },
}


def home() -> JSONResponse:
    """The surfaces this server offers, with an example URL for each endpoint."""
    return JSONResponse(
        {"service": "pkgdex", "docs": "/docs", "openapi": "/openapi.json", "surfaces": SURFACES}
    )


def register(app: FastAPI) -> None:
    router = APIRouter(tags=["home"])
    router.add_api_route("/", home, methods=["GET"], response_class=JSONResponse)
    app.include_router(router)
