"""One error envelope for pkgdex's own APIs, built by one function.

Native APIs answer ``{"error": {"code", "message", "requestId"}}``; compatible surfaces that must
keep an original's error shape raise :class:`ResponseError` with the exact response instead, and
name the shape of the errors nobody raises for them (no such method, an unexpected failure)
with :func:`use_shape_for`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_parameter",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


def request_id(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def error_body(code: str, message: str, request_id: str) -> dict[str, Any]:
    """The single error shape of pkgdex's native APIs."""
    return {"error": {"code": code, "message": message, "requestId": request_id}}


def error_response(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = error_body(code, message, request_id(request))
    return JSONResponse(body, status_code=status, headers=headers)


class ApiError(Exception):
    """An error a native API answers with the envelope."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


class ResponseError(Exception):
    """An error whose exact response is already built (compatible surfaces keep their shapes)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


# A compatible surface's error response: (status, message, headers) -> its original's shape.
Shape = Callable[[int, str, dict[str, str]], Response]


def use_envelope_for(app: FastAPI, prefix: str) -> None:
    """Make validation errors and HTTP errors under ``prefix`` answer with the envelope."""
    app.state.envelope_prefixes = (*app.state.envelope_prefixes, prefix)


def use_shape_for(app: FastAPI, prefix: str, shape: Shape) -> None:
    """Make HTTP errors and unexpected failures under ``prefix`` answer in ``shape``."""
    app.state.error_shapes = (*app.state.error_shapes, (prefix, shape))


def _wants_envelope(request: Request) -> bool:
    return request.url.path.startswith(request.app.state.envelope_prefixes)


def _shape_of(request: Request) -> Shape | None:
    path = request.url.path
    return next(
        (shape for prefix, shape in request.app.state.error_shapes if path.startswith(prefix)), None
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request, exc.status, exc.code, exc.message, exc.headers)


async def _response_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ResponseError)
    return exc.response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not _wants_envelope(request):
        return await request_validation_exception_handler(request, exc)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "path", "body"))
    message = f"{where}: {first.get('msg', 'invalid')}" if where else "invalid request"
    return error_response(request, 422, "invalid_parameter", message)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    shape = _shape_of(request)
    if shape is not None:
        return shape(exc.status_code, str(exc.detail), headers)
    if _wants_envelope(request):
        code = HTTP_CODES.get(exc.status_code, "error")
        return error_response(request, exc.status_code, code, str(exc.detail), headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def _unhandled(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path, exc_info=exc)
    # Starlette answers this one outside every middleware, so the id header is set here.
    headers = {"X-Request-ID": request_id(request)}
    shape = _shape_of(request)
    if shape is not None:
        return shape(500, f"internal server error (request {headers['X-Request-ID']})", headers)
    return error_response(request, 500, "internal_error", "internal server error", headers)


def install_error_handlers(app: FastAPI) -> None:
    app.state.envelope_prefixes = ()
    app.state.error_shapes = ()
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ResponseError, _response_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
