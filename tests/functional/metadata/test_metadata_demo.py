"""The bundled demo projects, served offline as ``pkgdex serve --demo`` does."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pkgdex.metadata import jobs


def test_demo_projects_are_served_offline(
    engine: Engine, make_client: Callable[..., TestClient]
) -> None:
    jobs.load_demo(engine)
    client = make_client()  # offline
    body = client.get("/pypi/pkgdex-demo/json").json()
    assert list(body) == ["info", "last_serial", "releases", "urls", "vulnerabilities"]
    assert body["info"]["version"] == "1.0.0"  # 1.1.0 yanked, 2.0.0rc1 a pre-release
    assert body["releases"]["1.1.0"][0]["yanked_reason"] == "demo of a yanked release"
    redirect = client.get("/pypi/Demo.Project_Name/json", follow_redirects=False)
    assert redirect.headers["location"] == "/pypi/demo-project-name/json"
    assert client.get("/pypi/demo-prerelease-only/json").json()["info"]["version"] == "0.1a1"
    index = client.get("/simple/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    assert [p["name"] for p in index.json()["projects"]] == [
        "demo-prerelease-only",
        "Demo.Project_Name",  # listed by its normalised name, demo-project-name
        "pkgdex-demo",
    ]
