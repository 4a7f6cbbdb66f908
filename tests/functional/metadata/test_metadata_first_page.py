"""A project's first Simple page, answered from the upstream's own PEP 691 page
(``metadata/firstpage.py``): a never-seen project's, while its JSON document is stored behind
the answer, and an imported project's (its files' core metadata unknown) while the upstream
has not changed it since: the same bytes as the stored copy gives, and, whenever that page
cannot be answered as it is, the stored copy's page instead."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select

from pkgdex.metadata.models import metadata_files, metadata_projects
from support.fake_pypi import FakePyPI, sorted_json
from support.imports import import_project

PyPIClient = Callable[..., TestClient]
V1_JSON = "application/vnd.pypi.simple.v1+json"
HTML = "text/html"
PROJECTS = ["sampleproject", "zope-interface-extra", "only-pre", "all-yanked", "big-project"]


def get_page(client: TestClient, name: str, accept: str = V1_JSON) -> Response:
    response = client.get(f"/simple/{name}/", headers={"Accept": accept})
    assert response.status_code == 200, response.text
    return response


def stored_files(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(metadata_files)).scalar_one()


def stored_projects(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(metadata_projects)).scalar_one()


@pytest.mark.parametrize("accept", [V1_JSON, HTML])
@pytest.mark.parametrize("name", PROJECTS)
def test_the_first_page_is_the_stored_copys_byte_for_byte(
    pypi_client: PyPIClient, fake: FakePyPI, name: str, accept: str
) -> None:
    client = pypi_client()
    first = get_page(client, name, accept)
    again = get_page(pypi_client(), name, accept)  # another process: from the store
    assert first.content == again.content
    for header in ("etag", "x-pypi-last-serial", "content-type"):
        assert first.headers[header] == again.headers[header], header
    assert first.headers["age"] == "0"
    assert fake.count(f"/pypi/{name}/json") == 1
    assert fake.count(f"/simple/{name}/") == 1  # the miss learnt from the same page


def _edit_page(fake: FakePyPI, edit: Callable[[dict[str, Any]], None]) -> None:
    page = fake.projects["sampleproject"].simple_page()
    edit(page)
    fake.simple_answer = (200, orjson.dumps(page))


def _each_file(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(page: dict[str, Any]) -> None:
        for entry in page["files"]:
            change(entry)

    return edit


def _set(page: dict[str, Any], key: str, value: Any) -> None:
    page[key] = value


UNANSWERABLE: dict[str, Callable[[dict[str, Any]], None]] = {
    # PEP 691's 1.0 form: neither sizes nor upload times, which pkgdex's page shows.
    "no size": _each_file(lambda f: f.pop("size")),
    "no upload time": _each_file(lambda f: f.pop("upload-time")),
    "a time with an offset": _each_file(
        lambda f: f.update({"upload-time": f["upload-time"].replace("Z", "+00:00")})
    ),
    "a NUL in a URL": _each_file(lambda f: f.update({"url": f["url"] + "\x00"})),
    "a sha256 past its column": _each_file(lambda f: f.update({"hashes": {"sha256": "a" * 65}})),
    "another project's name": lambda page: _set(page, "name", "another-project"),
    "no serial": lambda page: page["meta"].pop("_last-serial"),
    "no versions": lambda page: page.pop("versions"),
}


@pytest.mark.parametrize("edit", list(UNANSWERABLE.values()), ids=list(UNANSWERABLE))
def test_a_page_that_cannot_be_answered_as_it_is_gives_the_stored_copys(
    pypi_client: PyPIClient, fake: FakePyPI, edit: Callable[[dict[str, Any]], None]
) -> None:
    _edit_page(fake, edit)
    client = pypi_client()
    first = get_page(client, "sampleproject")
    assert first.content == get_page(pypi_client(), "sampleproject").content
    files = first.json()["files"]
    assert all(f["size"] is not None and f["upload-time"] is not None for f in files)
    assert all(f["url"].isprintable() and len(f["hashes"]["sha256"]) == 64 for f in files)
    assert fake.count("/simple/sampleproject/") == 1


def test_a_failed_page_gives_the_stored_copys_without_core_metadata(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    fake.simple_answer = (500, b"{}")
    client = pypi_client()
    files = get_page(client, "sampleproject").json()["files"]
    assert {f["core-metadata"] for f in files} == {False}
    assert len(files) == sum(len(v) for v in fake.projects["sampleproject"].files().values())


def test_a_document_that_cannot_be_stored_leaves_the_page_answered(
    pypi_client: PyPIClient,
    fake: FakePyPI,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.write = lambda doc: b'{"info": {"name": "trunc'
    client = pypi_client()
    first = get_page(client, "sampleproject")
    assert stored_projects(engine) == 0
    assert "answered from the upstream's page, was not stored" in caplog.text
    fake.write = sorted_json
    again = get_page(client, "sampleproject")  # never stored: a miss again, the same page
    assert again.content == first.content
    assert fake.count("/pypi/sampleproject/json") == 2


def _with_extra_file(page: dict[str, Any]) -> None:
    """A file the stored copy does not have: shows which of the two a page was made from."""
    extra = dict(page["files"][0], filename="sampleproject-9.9-py3-none-any.whl")
    page["files"].append(extra)


def _names(response: Response) -> set[str]:
    return {f["filename"] for f in response.json()["files"]}


def test_an_imported_projects_first_page_is_the_upstreams_when_it_has_the_stored_serial(
    pypi_client: PyPIClient,
    fake: FakePyPI,
    engine: Engine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import_project(engine, fake.projects["sampleproject"], tmp_path)
    _edit_page(fake, _with_extra_file)  # pypi.org's two APIs apart, at the same serial
    first = get_page(pypi_client(), "sampleproject")
    assert "sampleproject-9.9-py3-none-any.whl" in _names(first)  # the upstream's page
    assert "disagreed on sampleproject" in caplog.text
    again = get_page(pypi_client(), "sampleproject")  # another process: the stored copy
    assert "sampleproject-9.9-py3-none-any.whl" not in _names(again)
    assert any(f["core-metadata"] for f in again.json()["files"])  # learnt from that page
    assert fake.count("/simple/sampleproject/") == 1
    assert fake.count("/pypi/sampleproject/json") == 0  # fresh: its document is not asked for


def test_an_imported_project_changed_upstream_since_gets_the_stored_copys_page(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, tmp_path: Path
) -> None:
    import_project(engine, fake.projects["sampleproject"], tmp_path)

    def newer(page: dict[str, Any]) -> None:
        _with_extra_file(page)
        page["meta"]["_last-serial"] += 1

    _edit_page(fake, newer)
    first = get_page(pypi_client(), "sampleproject")
    assert "sampleproject-9.9-py3-none-any.whl" not in _names(first)
    assert any(f["core-metadata"] for f in first.json()["files"])
    again = get_page(pypi_client(), "sampleproject")
    assert again.content == first.content
    assert fake.count("/simple/sampleproject/") == 1


def test_concurrent_first_pages_of_an_imported_project_ask_for_its_page_once(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, tmp_path: Path
) -> None:
    import_project(engine, fake.projects["sampleproject"], tmp_path)
    client = pypi_client()
    fake.delay = 0.2  # every request arrives while the first is still asking
    with ThreadPoolExecutor(20) as pool:
        pages = list(pool.map(lambda _: get_page(client, "sampleproject"), range(20)))
    assert len({page.content for page in pages}) == 1
    assert any(f["core-metadata"] for f in pages[0].json()["files"])
    again = get_page(pypi_client(), "sampleproject")  # another process: from the store
    assert again.content == pages[0].content
    assert fake.count("/simple/sampleproject/") == 1
    assert fake.count("/pypi/sampleproject/json") == 0


@pytest.mark.parametrize("delay", [0.0, 0.02])
def test_first_pages_of_an_imported_project_around_its_write_are_one_page(
    pypi_client: PyPIClient,
    fake: FakePyPI,
    engine: Engine,
    tmp_path: Path,
    delay: float,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Requests that read the project before its core metadata was written, and read its
    # files after: those rows are the next revision's, and must not pass for the one read.
    import_project(engine, fake.projects["sampleproject"], tmp_path)
    client = pypi_client()
    fake.delay = delay
    with ThreadPoolExecutor(40) as pool:
        pages = list(pool.map(lambda _: get_page(client, "sampleproject"), range(40)))
    assert len({page.content for page in pages}) == 1
    assert any(f["core-metadata"] for f in pages[0].json()["files"])
    assert "disagreed" not in caplog.text
