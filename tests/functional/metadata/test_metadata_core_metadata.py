"""PEP 658/714 core metadata on /simple/, learnt from the upstream's own PEP 691 page: asked
for once per project and kept across refreshes, and never at the cost of an answer when the
upstream's page is missing or unusable."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from pkgdex.metadata import services
from pkgdex.metadata.models import metadata_files
from support.fake_pypi import FakePyPI, ReleaseSpec, standard_projects
from support.imports import import_project

PyPIClient = Callable[..., TestClient]

V1_JSON = "application/vnd.pypi.simple.v1+json"
PAGE = "/simple/sampleproject/"
UPSTREAM_PAGE = "/simple/sampleproject/"
WHEEL = "sampleproject-2.0.0-py3-none-any.whl"
SDIST = "sampleproject-2.0.0.tar.gz"


def files_of(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get(PAGE, headers={"Accept": V1_JSON})
    assert response.status_code == 200
    return {f["filename"]: f for f in response.json()["files"]}


def expected(fake: FakePyPI, filename: str) -> dict[str, str] | bool:
    metadata = fake.projects["sampleproject"].core_metadata(filename)
    return False if metadata is None else {"sha256": hashlib.sha256(metadata).hexdigest()}


def imported(engine: Engine, fake: FakePyPI, tmp_path: Path) -> None:
    """sampleproject stored as ``pkgdex metadata import`` stores it: its files' core metadata
    unknown, since the JSON API does not say it."""
    import_project(engine, fake.projects["sampleproject"], tmp_path)
    assert set(stored(engine).values()) == {None}


def stored(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(metadata_files.c.filename, metadata_files.c.core_metadata))
        return {name: None if value is None else orjson.loads(value) for name, value in rows}


def test_wheels_get_the_upstreams_core_metadata_on_the_first_page(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    files = files_of(pypi_client())
    assert files[WHEEL]["core-metadata"] == expected(fake, WHEEL) != False  # noqa: E712
    assert files[WHEEL]["data-dist-info-metadata"] == files[WHEEL]["core-metadata"]
    assert files[SDIST]["core-metadata"] is False
    for name, entry in files.items():
        assert entry["core-metadata"] == expected(fake, name), name
    assert fake.count(UPSTREAM_PAGE) == 1


def test_html_links_carry_the_core_metadata_hash(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    html = pypi_client().get(PAGE).text
    found = re.findall(r'<a href="[^"]+" ([^>]*)>([^<]+)</a>', html)
    links = {name: attrs for attrs, name in found}
    sha256 = hashlib.sha256(fake.projects["sampleproject"].core_metadata(WHEEL) or b"").hexdigest()
    value = f"sha256={sha256}"
    assert f'data-dist-info-metadata="{value}" data-core-metadata="{value}"' in links[WHEEL]
    assert "core-metadata" not in links[SDIST]


def test_the_upstreams_page_is_asked_for_once(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine
) -> None:
    client = pypi_client()
    first = files_of(client)
    assert client.get(PAGE).status_code == 200
    assert files_of(pypi_client()) == first  # another process: read from the store
    assert fake.count(UPSTREAM_PAGE) == 1
    assert stored(engine)[WHEEL] == expected(fake, WHEEL)
    assert stored(engine)[SDIST] is False  # asked, and there is none


def test_the_json_api_never_shows_core_metadata(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    before = client.get("/pypi/sampleproject/json").content
    files_of(client)
    after = client.get("/pypi/sampleproject/json")
    assert after.content == before
    assert "core_metadata" not in after.text and "core-metadata" not in after.text


def test_a_refresh_keeps_what_is_known_and_asks_only_for_new_files(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine
) -> None:
    client = pypi_client(metadata_ttl_seconds=0)
    files_of(client)
    fake.projects["sampleproject"].last_serial = 101  # a changed document, nothing new in it
    files = files_of(client)
    assert files[WHEEL]["core-metadata"] == expected(fake, WHEEL)
    assert fake.count(UPSTREAM_PAGE) == 1
    fake.projects["sampleproject"].releases.append(ReleaseSpec("5.0.0"))
    fake.projects["sampleproject"].last_serial = 102
    files = files_of(client)
    new_wheel = "sampleproject-5.0.0-py3-none-any.whl"
    assert files[new_wheel]["core-metadata"] == expected(fake, new_wheel) != False  # noqa: E712
    assert files[WHEEL]["core-metadata"] == expected(fake, WHEEL)
    assert fake.count(UPSTREAM_PAGE) == 2
    assert None not in stored(engine).values()


def test_a_file_whose_sha256_differs_upstream_gets_none(
    pypi_client: PyPIClient, fake: FakePyPI, caplog: pytest.LogCaptureFixture
) -> None:
    page = fake.projects["sampleproject"].simple_page()
    for entry in page["files"]:
        if entry["filename"] == WHEEL:
            entry["hashes"] = {"sha256": "0" * 64}
    fake.simple_answer = (200, orjson.dumps(page))
    client = pypi_client()
    first = files_of(client)  # the upstream's own page, as it came
    assert first[WHEEL]["hashes"] == {"sha256": "0" * 64}
    assert first[WHEEL]["core-metadata"] == expected(fake, WHEEL)
    assert "disagreed on sampleproject" in caplog.text
    files = files_of(client)  # the stored copy, the JSON API's file
    assert files[WHEEL]["hashes"] != {"sha256": "0" * 64}
    assert files[WHEEL]["core-metadata"] is False
    other = "sampleproject-1.0.0-py3-none-any.whl"
    assert files[other]["core-metadata"] == expected(fake, other) != False  # noqa: E712


def test_a_page_written_before_pep_714_is_understood(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    page = fake.projects["sampleproject"].simple_page()
    for entry in page["files"]:
        del entry["core-metadata"]
    fake.simple_answer = (200, orjson.dumps(page))
    assert files_of(pypi_client())[WHEEL]["core-metadata"] == expected(fake, WHEEL)


def _page_with(change: Callable[[dict[str, Any]], None]) -> bytes:
    """The fake's page for sampleproject, changed (made without a server: at import)."""
    (project,) = [p for p in standard_projects() if p.name == "sampleproject"]
    page = project.simple_page()
    change(page)
    return orjson.dumps(page)


def _set_first_file(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(page: dict[str, Any]) -> None:
        page["files"][0][key] = value

    return change


BAD_PAGES = {
    "server error": (500, b'{"message": "Internal Server Error"}'),
    "not found": (404, b'{"message": "Not Found"}'),
    "not json": (200, b"<!DOCTYPE html><html><body>Links</body></html>"),
    "truncated": (200, b'{"meta": {"api-version": "1.1"}, "files": [{"filen'),
    "another major version": (200, _page_with(lambda p: p["meta"].update({"api-version": "2.0"}))),
    "files not a list": (200, b'{"meta": {"api-version": "1.1"}, "files": {}}'),
    "a hash that is not hex": (
        200,
        _page_with(_set_first_file("core-metadata", {"sha256": "<script>"})),
    ),
    "core metadata of the wrong type": (200, _page_with(_set_first_file("core-metadata", "yes"))),
    "a file without a name": (200, _page_with(_set_first_file("filename", ""))),
}


@pytest.mark.parametrize("fault", list(BAD_PAGES))
def test_an_unusable_upstream_page_changes_nothing(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, fault: str
) -> None:
    fake.simple_answer = BAD_PAGES[fault]
    client = pypi_client()
    files = files_of(client)
    assert all(f["core-metadata"] is False for f in files.values()), fault
    assert set(stored(engine).values()) == {None}, fault  # nothing learnt, nothing written
    files_of(client)
    assert fake.count(UPSTREAM_PAGE) == 1, fault  # not asked again for the same copy
    fake.simple_answer = None
    assert files_of(pypi_client())[WHEEL]["core-metadata"] == expected(fake, WHEEL)


def test_a_timeout_on_the_upstreams_page_still_answers(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, tmp_path: Path
) -> None:
    imported(engine, fake, tmp_path)
    client = pypi_client(upstream_timeout_seconds=0.5)
    fake.fault, fake.slow_seconds = "slow", 3.0
    started = time.monotonic()
    response = client.get(PAGE, headers={"Accept": V1_JSON})
    # The timeout once, and then the stored copy: not a second wait for the same page.
    assert time.monotonic() - started < 2.5
    assert response.status_code == 200
    assert {f["core-metadata"] for f in response.json()["files"]} == {False}
    assert fake.count(UPSTREAM_PAGE) == 1


def test_offline_never_asks(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, tmp_path: Path
) -> None:
    imported(engine, fake, tmp_path)
    files = files_of(pypi_client(offline=True))
    assert all(f["core-metadata"] is False for f in files.values())
    assert fake.count(UPSTREAM_PAGE) == 0


def test_concurrent_pages_of_a_new_project_ask_for_each_document_once(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client()
    fake.delay = 0.2  # every request arrives while the first is still asking
    with ThreadPoolExecutor(20) as pool:
        pages = list(pool.map(lambda _: files_of(client), range(20)))
    assert fake.count("/pypi/sampleproject/json") == 1
    assert fake.count(UPSTREAM_PAGE) == 1
    for files in pages:
        assert files[WHEEL]["core-metadata"] == expected(fake, WHEEL)


def test_a_new_projects_page_asks_for_the_upstreams_page_alone_first(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client()
    fake.gate = threading.Event()  # the upstream answers nothing until the test says so
    with ThreadPoolExecutor(1) as pool:
        page = pool.submit(files_of, client)
        deadline = time.monotonic() + 10
        while fake.count(UPSTREAM_PAGE) < 1:
            assert time.monotonic() < deadline, "the upstream's page was not asked for"
            time.sleep(0.01)
        time.sleep(0.1)
        # Its JSON document follows the answer made from the page, not competing with it.
        assert fake.count("/pypi/sampleproject/json") == 0
        fake.gate.set()
        files = page.result()
    assert files[WHEEL]["core-metadata"] == expected(fake, WHEEL)
    assert fake.count(UPSTREAM_PAGE) == 1
    assert fake.count("/pypi/sampleproject/json") == 1


def test_a_project_whose_files_are_all_known_is_not_asked_again(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    files_of(pypi_client())
    pypi_client().get("/pypi/sampleproject/json")  # other processes, nothing in memory
    assert files_of(pypi_client())[WHEEL]["core-metadata"] == expected(fake, WHEEL)
    assert fake.count(UPSTREAM_PAGE) == 1


def test_a_json_api_miss_learns_it_for_the_first_page(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine
) -> None:
    pypi_client().get("/pypi/sampleproject/json")
    assert stored(engine)[WHEEL] == expected(fake, WHEEL)
    assert fake.count(UPSTREAM_PAGE) == 1
    files = files_of(pypi_client())  # another process: read from the store, nothing asked
    assert files[WHEEL]["core-metadata"] == expected(fake, WHEEL)
    assert fake.count(UPSTREAM_PAGE) == 1


def test_an_imported_project_learns_it_on_its_first_page(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, tmp_path: Path
) -> None:
    imported(engine, fake, tmp_path)
    files = files_of(pypi_client())
    assert files[WHEEL]["core-metadata"] == expected(fake, WHEEL)
    assert fake.count(UPSTREAM_PAGE) == 1
    assert None not in stored(engine).values()


@pytest.mark.parametrize("accept", [V1_JSON, "text/html"])
def test_a_new_projects_first_page_is_what_its_write_stores(
    pypi_client: PyPIClient, fake: FakePyPI, accept: str
) -> None:
    first = pypi_client().get(PAGE, headers={"Accept": accept})  # answered, then written
    again = pypi_client().get(PAGE, headers={"Accept": accept})  # another process: the store
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert first.headers["etag"] == again.headers["etag"]
    assert fake.count(UPSTREAM_PAGE) == 1


@pytest.mark.parametrize("accept", [V1_JSON, "text/html"])
def test_a_stored_projects_first_page_is_what_its_write_stores(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, tmp_path: Path, accept: str
) -> None:
    imported(engine, fake, tmp_path)
    first = pypi_client().get(PAGE, headers={"Accept": accept})  # answered, then written
    again = pypi_client().get(PAGE, headers={"Accept": accept})  # read back from the store
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert first.headers["etag"] == again.headers["etag"]
    assert fake.count(UPSTREAM_PAGE) == 1


def test_a_first_page_whose_write_fails_is_asked_for_again(
    pypi_client: PyPIClient,
    fake: FakePyPI,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    imported(engine, fake, tmp_path)

    def unwritable(*args: Any, **kwargs: Any) -> str:
        raise OperationalError("UPDATE", {}, Exception("disk I/O error"))

    monkeypatch.setattr(services, "add_core_metadata", unwritable)
    client = pypi_client()
    files = files_of(client)  # answered before the write, which then fails
    assert files[WHEEL]["core-metadata"] == expected(fake, WHEEL)
    assert set(stored(engine).values()) == {None}  # nothing half written
    monkeypatch.undo()
    assert files_of(client) == files  # this process forgot the unstored revision: asks again
    assert fake.count(UPSTREAM_PAGE) == 2
    assert stored(engine)[WHEEL] == expected(fake, WHEEL)
