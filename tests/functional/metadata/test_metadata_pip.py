"""The real pip, with only ``--index-url`` changed, against a live pkgdex server that pulls
through from a fake pypi.org serving real wheels: it downloads the bytes the index's hash
names, picks the version an installer should, installs what imports, and fails cleanly on a
project the upstream does not have."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.fake_pypi import FakePyPI, Project, ReleaseSpec
from support.server import ServerProcess, pypi_pull_through_settings, running_server

pytestmark = pytest.mark.slow

PIP_TIMEOUT_SECONDS = 120
# What pip 23 sends for a project page (pip._internal.index.collector).
PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


def real_project() -> Project:
    """Newest first: a pre-release, one for a Python yet to come, a yanked one, then 1.1,
    the release pip should pick when nothing is pinned."""
    return Project(
        "Real_Pkg",
        [
            ReleaseSpec("1.0"),
            ReleaseSpec("1.1"),
            ReleaseSpec("1.2", yanked=True, yanked_reason="broken build"),
            ReleaseSpec("1.3", requires_python=">=4"),
            ReleaseSpec("2.0b1"),
        ],
        last_serial=4242,
        real_files=True,
    )


@pytest.fixture(scope="module")
def live(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, FakePyPI]]:
    workdir = tmp_path_factory.mktemp("pip")
    with FakePyPI([real_project()]) as fake:
        settings = pypi_pull_through_settings(module_database_url, fake.url)
        with running_server(settings, log_dir=workdir) as server:
            yield server, fake


def pip(
    server: ServerProcess, workdir: Path, *args: str, cache_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    cache = ["--cache-dir", str(cache_dir)] if cache_dir else ["--no-cache-dir"]
    command = [
        sys.executable, "-m", "pip", *args, *cache,
        "--index-url", f"{server.url}/simple/",
        "--disable-pip-version-check", "--retries", "0", "--timeout", "10",
    ]  # fmt: skip
    return subprocess.run(
        command,
        env=pip_environment(workdir),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_SECONDS,
        check=False,
    )


def pip_environment(workdir: Path) -> dict[str, str]:
    """No pip configuration, cache or proxy of the caller's: only the index given reaches pip."""
    ignored = ("PIP_", "PYTHON")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(ignored) and "PROXY" not in key.upper()
    }
    env.update({"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INPUT": "1", "HOME": str(workdir)})
    return env


def succeeded(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"pip failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def download(server: ServerProcess, tmp_path: Path, requirement: str) -> list[Path]:
    dest = tmp_path / "downloads"
    succeeded(pip(server, tmp_path, "download", "--no-deps", "--dest", str(dest), requirement))
    return sorted(dest.iterdir())


def announced_sha256(fake: FakePyPI, filename: str) -> str:
    files = fake.projects["real-pkg"].doc()["releases"]
    by_name = {f["filename"]: f for release in files.values() for f in release}
    digest: str = by_name[filename]["digests"]["sha256"]
    return digest


def test_download_of_a_pinned_version_gets_the_exact_bytes(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    server, fake = live
    (wheel,) = download(server, tmp_path, "Real_Pkg==1.0")
    assert wheel.name == "real_pkg-1.0-py3-none-any.whl"  # a wheel before the sdist
    content = wheel.read_bytes()
    assert hashlib.sha256(content).hexdigest() == announced_sha256(fake, wheel.name)
    assert content == fake.file_bytes(wheel.name)
    assert fake.count(f"/packages/{wheel.name}") >= 1  # from the upstream's own URL


def test_pip_refuses_bytes_that_do_not_match_the_index_hash(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    server, fake = live
    fake.tampered.add("real_pkg-1.0-py3-none-any.whl")
    try:
        result = pip(server, tmp_path, "download", "--no-deps", "Real_Pkg==1.0")
    finally:
        fake.tampered.clear()
    assert result.returncode != 0
    assert "DO NOT MATCH THE HASHES" in result.stderr


def test_pip_reads_the_json_representation(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    server, _ = live
    args = ("download", "--no-deps", "-vv", "--dest", str(tmp_path), "Real_Pkg==1.0")
    out = succeeded(pip(server, tmp_path, *args))
    page = f"{server.url}/simple/real-pkg/"
    assert f"Fetched page {page} as application/vnd.pypi.simple.v1+json" in out


def test_pip_reuses_its_cached_page_while_fresh_or_after_a_304(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    # pip caches only pages from origins it trusts, so these runs trust the loopback server.
    # pip before 24 asks again each time (max-age=0) with the ETag it holds and gets a 304;
    # later ones keep the page for the max-age pkgdex sends, as they do with pypi.org's.
    server, _ = live
    cache = tmp_path / "cache"
    args = ("download", "--no-deps", "--dest", str(tmp_path), "-vv", "Real_Pkg==1.0")
    trusting = ("--trusted-host", "127.0.0.1")
    first = succeeded(pip(server, tmp_path, *args, *trusting, cache_dir=cache))
    assert '"GET /simple/real-pkg/ HTTP/1.1" 200' in first
    second = succeeded(pip(server, tmp_path, *args, *trusting, cache_dir=cache))
    revalidated = '"GET /simple/real-pkg/ HTTP/1.1" 304' in second
    still_fresh = 'The response is "fresh", returning cached response' in second
    assert revalidated or still_fresh
    assert '"GET /simple/real-pkg/ HTTP/1.1" 200' not in second


def test_unpinned_download_gets_the_newest_compatible_unyanked_release(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    server, _ = live
    (wheel,) = download(server, tmp_path, "Real_Pkg")
    assert wheel.name == "real_pkg-1.1-py3-none-any.whl"


def test_a_pinned_yanked_release_is_given_with_its_reason(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    server, _ = live
    args = ("download", "--no-deps", "--dest", str(tmp_path / "downloads"), "Real_Pkg==1.2")
    result = pip(server, tmp_path, *args)
    succeeded(result)
    assert "Reason for being yanked: broken build" in result.stderr


def test_pre_releases_are_picked_when_asked_for(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    server, _ = live
    (wheel,) = download(server, tmp_path, "Real_Pkg>=2.0b1")
    assert wheel.name == "real_pkg-2.0b1-py3-none-any.whl"


@pytest.mark.parametrize("spelling", ["Real_Pkg", "REAL.pkg", "real-pkg"])
def test_any_spelling_of_the_name_finds_the_project(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path, spelling: str
) -> None:
    server, _ = live
    (wheel,) = download(server, tmp_path, f"{spelling}==1.0")
    assert wheel.name == "real_pkg-1.0-py3-none-any.whl"


def test_install_into_a_target_gives_an_importable_module(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    server, _ = live
    target = tmp_path / "target"
    succeeded(pip(server, tmp_path, "install", "--no-deps", "--target", str(target), "Real_Pkg"))
    assert (target / "real_pkg-1.1.dist-info" / "METADATA").is_file()
    imported = subprocess.run(
        [sys.executable, "-c", "import real_pkg; print(real_pkg.VERSION)"],
        env={**pip_environment(tmp_path), "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_SECONDS,
        check=True,
    )
    assert imported.stdout.strip() == "1.1"


def test_index_versions_lists_the_releases(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    server, _ = live
    out = succeeded(pip(server, tmp_path, "index", "versions", "Real_Pkg"))
    # Neither the yanked 1.2 nor 1.3, which requires a Python newer than this one.
    assert "Real_Pkg (1.1)" in out
    assert "Available versions: 1.1, 1.0\n" in out
    with_pre = succeeded(pip(server, tmp_path, "index", "versions", "--pre", "Real_Pkg"))
    assert "Available versions: 2.0b1, 1.1, 1.0\n" in with_pre


def test_a_project_the_upstream_lacks_fails_cleanly(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    server, _ = live
    result = pip(server, tmp_path, "download", "--no-deps", "no-such-project")
    assert result.returncode != 0
    assert "No matching distribution found for no-such-project" in result.stderr
    page = httpx.get(f"{server.url}/simple/no-such-project/", headers={"Accept": PIP_ACCEPT})
    assert page.status_code == 404
    assert "Traceback" not in server.log()


def test_pip_resolves_from_the_core_metadata_served_beside_the_wheel(
    live: tuple[ServerProcess, FakePyPI], tmp_path: Path
) -> None:
    # The upstream's PEP 691 page says the wheel's METADATA is served beside it (PEP 658/714);
    # pkgdex's page passes that on with its hash, which pip checks, and pip resolves from that
    # file. (pip before 23.3 still fetches the wheel afterwards, even with --dry-run.)
    server, fake = live
    metadata = "/packages/real_pkg-1.0-py3-none-any.whl.metadata"
    before = fake.count(metadata)
    report = tmp_path / "report.json"
    args = ("install", "--dry-run", "--ignore-installed", "--no-deps", "--report", str(report))
    succeeded(pip(server, tmp_path, *args, "Real_Pkg==1.0"))
    (item,) = json.loads(report.read_text())["install"]
    assert item["metadata"]["version"] == "1.0"
    assert item["download_info"]["url"].endswith("/packages/real_pkg-1.0-py3-none-any.whl")
    assert fake.count(metadata) == before + 1
