"""The base URL tells a visitor what the server offers, and every example link it gives works."""

from __future__ import annotations

from typing import Any

import fastapi.dependencies.utils
import pytest
from fastapi.testclient import TestClient

from pkgdex.home import SURFACES


def test_home_lists_every_surface(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["docs"] == "/docs"
    assert set(body["surfaces"]) == {"name_index", "downloads", "pypi_metadata", "npm_registry"}


def test_home_example_links_are_real_routes(client: TestClient) -> None:
    # On an empty, offline database a link may answer "not found", but never "no such route"
    # (405) or a server error.
    for surface in SURFACES.values():
        for url in surface["endpoints"]:
            status = client.get(url).status_code
            assert status < 500 and status != 405, (url, status)


def test_openapi_is_served_without_warnings(client: TestClient) -> None:
    # pytest turns warnings into errors: duplicate operation ids would make this a 500.
    response = client.get("/openapi.json")
    assert response.status_code == 200
    ids = [op["operationId"] for path in response.json()["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))


def test_routes_are_resolved_before_the_first_request(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FastAPI resolves an included router's routes (their dependencies) when a request first
    # reaches it; the app does it at start-up instead, so no request pays for it.
    resolved: list[object] = []
    real = fastapi.dependencies.utils.get_dependant  # what fastapi.routing calls

    def counting(*args: Any, **kwargs: Any) -> Any:
        resolved.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr("fastapi.routing.get_dependant", counting)
    for url in ("/registry/npm/-/ping", "/simple/", "/pypi/x/json", "/api/packages/x/recent"):
        assert client.get(url).status_code < 500
    assert resolved == []
