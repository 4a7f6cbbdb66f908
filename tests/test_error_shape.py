"""The one error envelope of pkgdex's native APIs, pinned for every error path.

A real app from ``create_app`` gets a small router under a prefix that uses the envelope (as a
native API registers itself), plus one outside it, and each way a request can fail is checked:
the envelope's exact shape, the status, the code, the request id, and that nothing internal
leaks. Outside an envelope prefix, compatible surfaces keep FastAPI's own shapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.testclient import TestClient

from pkgdex.app import create_app
from pkgdex.config import Settings
from pkgdex.errors import ApiError, ResponseError, error_body, use_envelope_for, use_shape_for

SECRET_DETAIL = "connection to 10.0.0.5 refused; password=hunter2"


def test_error_body_is_the_envelope() -> None:
    assert error_body("not_found", "no such package", "abc") == {
        "error": {"code": "not_found", "message": "no such package", "requestId": "abc"}
    }


def _routes() -> APIRouter:
    router = APIRouter()

    @router.get("/native/items/{item_id}")
    def item(item_id: int, size: Annotated[int, Query(ge=1, le=10)] = 1) -> dict[str, int]:
        if item_id == 404:
            raise ApiError(404, "not_found", "no item 404", {"X-Data-As-Of": "2026-11-01"})
        if item_id == 418:
            raise HTTPException(418, "short and stout")
        if item_id == 409:
            raise HTTPException(409, "already running")
        if item_id == 500:
            raise RuntimeError(SECRET_DETAIL)
        if item_id == 299:
            raise ResponseError(PlainTextResponse("exact", status_code=299))
        return {"item": item_id, "size": size}

    @router.get("/compat/items/{item_id}")
    @router.get("/shaped/items/{item_id}")
    def compat_item(item_id: int) -> dict[str, int]:
        if item_id == 500:
            raise RuntimeError(SECRET_DETAIL)
        return {"item": item_id}

    return router


@pytest.fixture
def app_client(tmp_path: Any) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=f"sqlite:///{tmp_path}/e.db")  # type: ignore[call-arg]
    app = create_app(settings)
    app.include_router(_routes())
    use_envelope_for(app, "/native/")
    use_shape_for(app, "/shaped/", _shaped)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _shaped(status: int, message: str, headers: dict[str, str]) -> JSONResponse:
    """An original's error shape, as npm's registry has it."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def envelope(answer: Any) -> dict[str, str]:
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "requestId"}
    assert body["error"]["requestId"] == answer.headers["x-request-id"]
    assert len(body["error"]["requestId"]) > 0
    inner: dict[str, str] = body["error"]
    return inner


def test_an_api_error_keeps_its_status_code_message_and_headers(app_client: TestClient) -> None:
    answer = app_client.get("/native/items/404")
    assert answer.status_code == 404
    assert answer.headers["x-data-as-of"] == "2026-11-01"
    error = envelope(answer)
    assert (error["code"], error["message"]) == ("not_found", "no item 404")


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/native/items/abc", "item_id"),
        ("/native/items/1?size=0", "size"),
        ("/native/items/1?size=11", "size"),
        ("/native/items/1?size=x", "size"),
    ],
)
def test_validation_errors_name_the_parameter(
    app_client: TestClient, path: str, where: str
) -> None:
    answer = app_client.get(path)
    assert answer.status_code == 422
    error = envelope(answer)
    assert error["code"] == "invalid_parameter"
    assert error["message"].startswith(f"{where}: ")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/native/no-such-route", 404, "not_found"),
        ("POST", "/native/items/1", 405, "method_not_allowed"),
        ("GET", "/native/items/409", 409, "conflict"),
        ("GET", "/native/items/418", 418, "error"),
    ],
)
def test_http_errors_under_the_prefix_use_the_envelope(
    app_client: TestClient, method: str, path: str, status: int, code: str
) -> None:
    answer = app_client.request(method, path)
    assert answer.status_code == status
    assert envelope(answer)["code"] == code


def test_a_405_keeps_its_allow_header(app_client: TestClient) -> None:
    answer = app_client.post("/native/items/1")
    assert "GET" in answer.headers["allow"]


@pytest.mark.parametrize("path", ["/native/items/500", "/compat/items/500"])
def test_an_unhandled_error_is_a_500_envelope_that_leaks_nothing(
    app_client: TestClient, path: str
) -> None:
    answer = app_client.get(path)
    assert answer.status_code == 500
    error = envelope(answer)
    assert error == {
        "code": "internal_error",
        "message": "internal server error",
        "requestId": error["requestId"],
    }
    assert "hunter2" not in answer.text and "10.0.0.5" not in answer.text


def test_the_callers_request_id_is_echoed_in_the_envelope(app_client: TestClient) -> None:
    answer = app_client.get("/native/items/404", headers={"X-Request-ID": "trace-42"})
    assert envelope(answer)["requestId"] == "trace-42"


@pytest.mark.parametrize("bad_id", ["x" * 65, "tab\there"])
def test_an_unreasonable_request_id_is_replaced(app_client: TestClient, bad_id: str) -> None:
    answer = app_client.get("/native/items/404", headers={"X-Request-ID": bad_id})
    assert envelope(answer)["requestId"] not in ("", bad_id)


def test_a_request_id_beyond_ascii_is_replaced(app_client: TestClient) -> None:
    # Echoed, it would put obs-text (a byte beyond ASCII) in a response header.
    answer = app_client.get("/native/items/404", headers={"X-Request-ID": "café".encode("latin-1")})
    assert envelope(answer)["requestId"].isascii()


def test_a_response_error_is_answered_exactly(app_client: TestClient) -> None:
    answer = app_client.get("/native/items/299")
    assert (answer.status_code, answer.text) == (299, "exact")


def test_outside_the_prefix_fastapi_shapes_are_kept(app_client: TestClient) -> None:
    invalid = app_client.get("/compat/items/abc")
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["path", "item_id"]
    missing = app_client.get("/compat/no-such-route")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", "/shaped/items/1", 405), ("GET", "/shaped/no-such-route", 404)],
)
def test_http_errors_under_a_shaped_prefix_answer_in_its_shape(
    app_client: TestClient, method: str, path: str, status: int
) -> None:
    answer = app_client.request(method, path)
    assert answer.status_code == status
    assert answer.json() == {"error": "Method Not Allowed" if status == 405 else "Not Found"}
    if status == 405:
        assert "GET" in answer.headers["allow"]


def test_an_unhandled_error_under_a_shaped_prefix_keeps_its_shape_and_leaks_nothing(
    app_client: TestClient,
) -> None:
    answer = app_client.get("/shaped/items/500")
    assert answer.status_code == 500
    rid = answer.headers["x-request-id"]
    assert answer.json() == {"error": f"internal server error (request {rid})"}
    assert "hunter2" not in answer.text and "10.0.0.5" not in answer.text
