"""Real PyPI clients, unchanged but for their base URL, against a live pkgdex server that pulls
through from a fake pypi.org: pypi-json, pypi-simple (JSON and HTML), yarg and luddite."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import luddite
import pytest
import yarg
from packaging.version import Version
from pypi_json import PyPIJSON
from pypi_simple import ACCEPT_HTML_ONLY, ACCEPT_JSON_ONLY, PyPISimple

from support.fake_pypi import FakePyPI, big_project
from support.server import ServerProcess, pypi_pull_through_settings, running_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, FakePyPI]]:
    url = module_database_url
    workdir = tmp_path_factory.mktemp("pypi-clients")
    with FakePyPI() as fake:
        settings = pypi_pull_through_settings(url, fake.url)
        with running_server(settings, log_dir=workdir) as server:
            yield server, fake


def test_pypi_json(live: tuple[ServerProcess, FakePyPI]) -> None:
    server, fake = live
    with PyPIJSON(endpoint=f"{server.url}/pypi") as client:
        project = client.get_metadata("sampleproject")
        assert project.name == "sampleproject"
        assert project.version == Version("3.0.0")
        assert project.get_latest_version() == Version("4.0.0b1")  # its own rule: max key
        releases = project.get_releases_with_digests()
        assert set(releases) == set(fake.projects["sampleproject"].doc()["releases"])
        release = client.get_metadata("sampleproject", "2.0.0")
        assert release.info["summary"] == "sampleproject summary for 2.0.0"
        assert release.releases is None
        odd = client.get_metadata("Zope.Interface_Extra")  # follows the 301
        assert odd.name == "zope-interface-extra"
        with pytest.raises(Exception, match="No such project"):
            client.get_metadata("no-such-project")


@pytest.mark.parametrize("accept", [ACCEPT_JSON_ONLY, ACCEPT_HTML_ONLY])
def test_pypi_simple(live: tuple[ServerProcess, FakePyPI], accept: str) -> None:
    server, fake = live
    with PyPISimple(endpoint=f"{server.url}/simple/", accept=accept) as client:
        page = client.get_project_page("big-project")
        doc = fake.projects["big-project"].doc()
        files = {f["filename"]: f for fs in doc["releases"].values() for f in fs}
        assert len(page.packages) == len(files)
        assert page.last_serial == "987654"
        for package in page.packages:
            original = files[package.filename]
            assert package.url == original["url"]
            assert package.digests == {"sha256": original["digests"]["sha256"]}
            assert package.requires_python == ">=3.8"
            assert package.is_yanked == original["yanked"]
            if original["yanked"]:
                assert package.yanked_reason == "broken wheel"
            # PEP 658/714, from the upstream's own Simple page: wheels only, with their hash.
            # (HTML, as pypi.org writes it, says nothing of a file without: None, not False.)
            metadata = fake.projects["big-project"].core_metadata(package.filename)
            assert bool(package.has_metadata) == (metadata is not None)
            if metadata is not None:
                sha256 = hashlib.sha256(metadata).hexdigest()
                assert package.metadata_digests == {"sha256": sha256}
        if accept == ACCEPT_JSON_ONLY:
            assert page.versions is not None and len(page.versions) == 500
            sample = page.packages[0]
            assert sample.size == files[sample.filename]["size"]
            assert sample.upload_time is not None
        index = client.get_index_page()
        assert "big-project" in index.projects


def test_yarg(live: tuple[ServerProcess, FakePyPI]) -> None:
    server, _ = live
    package = yarg.get("sampleproject", pypi_server=f"{server.url}/pypi/")
    assert package.name == "sampleproject"
    assert package.latest_release_id == "3.0.0"
    assert package.summary == "sampleproject summary for 3.0.0"
    assert "4.0.0b1" in package.release_ids
    assert package.has_wheel and package.has_source
    with pytest.raises(yarg.HTTPError):
        yarg.get("no-such-project", pypi_server=f"{server.url}/pypi/")


def test_luddite(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = live
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("sampleproject==2.0.0\nonly-pre==1.0b2\nall-yanked==1.1\n")
    checker = luddite.Luddite(fname=str(requirements), index=f"{server.url}/pypi/")
    assert luddite.get_version_pypi("sampleproject", f"{server.url}/pypi/") == "3.0.0"
    checker.run(n_threads=1)
    out = capsys.readouterr().out
    assert "sampleproject==2.0.0" in out and "(index has 3.0.0)" in out.replace("  ", " ")
    assert "only-pre is up to date @ 1.0b2" in out


def test_concurrent_misses_make_one_upstream_request(live: tuple[ServerProcess, FakePyPI]) -> None:
    server, fake = live
    fake.add(big_project("cold-project"))
    statuses = _many_behind_gate(fake, f"{server.url}/pypi/cold-project/json", 100)
    assert statuses == [200] * 100
    assert fake.count("/pypi/cold-project/json") == 1


def test_concurrent_misses_for_a_failing_upstream_make_one_request(
    live: tuple[ServerProcess, FakePyPI],
) -> None:
    # More requests than the server has worker threads: those that wait for a thread while
    # the upstream fails share its failure instead of asking it again, wave after wave.
    server, fake = live
    fake.add(big_project("failing-project"))
    fake.fault = "status"
    try:
        statuses = _many_behind_gate(fake, f"{server.url}/pypi/failing-project/json", 100)
    finally:
        fake.fault = None
    assert statuses == [502] * 100
    assert fake.count("/pypi/failing-project/json") == 1
    # A request that arrives after the failure asks again, and gets the project.
    assert httpx.get(f"{server.url}/pypi/failing-project/json").status_code == 200


# How long the upstream still waits once every request has been sent, for the server to read
# them all (its event loop is idle meanwhile: the one upstream call runs in a thread).
SETTLE_SECONDS = 0.5


def _many_behind_gate(fake: FakePyPI, url: str, count: int) -> list[int]:
    """``_many``, with ``fake``'s answers held until every request has been sent."""
    fake.gate = threading.Event()
    try:
        return asyncio.run(_many(url, count, fake.gate))
    finally:
        fake.gate.set()  # lets go of any answer still waiting if the requests failed
        fake.gate = None


async def _many(url: str, count: int, upstream_gate: threading.Event) -> list[int]:
    """``count`` concurrent GETs of ``url``; ``upstream_gate`` opens once all have been sent,
    so they all reach the server while its one upstream call is still waiting, however slowly
    this client sends them (a fixed upstream delay made that a race on a busy machine)."""
    sent = 0

    async def trace(event: str, _info: dict[str, object]) -> None:
        nonlocal sent
        if event == "http11.send_request_body.complete":
            sent += 1
            if sent == count:
                asyncio.get_running_loop().call_later(SETTLE_SECONDS, upstream_gate.set)

    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        requests = (client.get(url, extensions={"trace": trace}) for _ in range(count))
        responses = await asyncio.gather(*requests)
    # Else the gate opened only at the fake's timeout, and the test proved nothing of arrivals.
    assert sent == count, f"httpcore reported {sent} of {count} requests sent"
    return [r.status_code for r in responses]
