"""The machine's real ``npm`` CLI against a live pkgdex server: ``npm view`` and ``npm search``.

npm's HTTP log (``--loglevel=http``) shows the URLs it requests, so the tests also pin what npm
actually asks for: the registry URL with its trailing slash, and ``@scope%2fname``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pkgdex import db
from pkgdex.index.jobs import load_index
from support.fake_npm import FakeNpm, serve_fake_npm
from support.server import running_server

pytestmark = pytest.mark.slow

NPM = shutil.which("npm")
LISTING = "name\tversion\tdownloads_a_month\tsummary\nleft-pad\t1.3.0\t3000000\tString left pad\n"
LISTING += "pad\t0.1.0\t10\tpad things\npadding\t1.0.0\t5000\tpadding things\n"


@dataclass
class Npm:
    registry: str
    home: Path
    fake: FakeNpm

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            str(NPM), *args, "--registry", self.registry, "--cache", str(self.home / "cache"),
            "--no-update-notifier", "--loglevel=http", "--fund=false", "--audit=false",
        ]  # fmt: skip
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "npm_config_userconfig": str(self.home / ".npmrc"),
        }
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    def json(self, *args: str) -> object:
        result = self.run(*args, "--json")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def npm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Npm]:
    if NPM is None:
        if os.environ.get("PKGDEX_REQUIRE_SERVICES") == "1":
            pytest.fail("npm is not on PATH (PKGDEX_REQUIRE_SERVICES=1)")
        pytest.skip("npm is not on PATH; install Node.js/npm to run the npm CLI tests")
    home = tmp_path_factory.mktemp("npm-home")
    (home / ".npmrc").write_text("")
    url = f"sqlite:///{home / 'pkgdex.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    (home / "npm.tsv").write_text(LISTING)
    load_index(engine, "npm", str(home / "npm.tsv"))
    engine.dispose()
    with serve_fake_npm() as fake:
        settings = {
            "PKGDEX_DATABASE_URL": url,
            "PKGDEX_OFFLINE": "0",
            "PKGDEX_NPM_UPSTREAM": fake.base_url,
            "PKGDEX_RATE_LIMITS": "off",
        }
        with running_server(settings, log_dir=home) as server:
            yield Npm(f"{server.url}/registry/npm/", home, fake)


def test_npm_view(npm: Npm) -> None:
    result = npm.run("view", "left-pad", "--json")
    assert result.returncode == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["name"] == "left-pad" and view["version"] == "1.3.0"
    assert view["dist-tags"] == {"latest": "1.3.0"}
    assert view["versions"] == ["1.0.0", "1.1.0", "1.3.0"]
    assert view["dist"]["tarball"] == f"{npm.fake.base_url}/left-pad/-/left-pad-1.3.0.tgz"
    assert f"GET 200 {npm.registry}left-pad" in result.stderr  # trailing slash, then the name


def test_npm_view_version(npm: Npm) -> None:
    assert npm.json("view", "left-pad@1.1.0", "version") == "1.1.0"


def test_npm_view_scoped_package_asks_for_the_escaped_name(npm: Npm) -> None:
    result = npm.run("view", "@pkgdex-test/scoped", "dist-tags", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"latest": "1.1.0", "next": "2.0.0-beta.1"}
    assert f"GET 200 {npm.registry}@pkgdex-test%2fscoped" in result.stderr


def test_npm_view_deprecated_version(npm: Npm) -> None:
    assert npm.json("view", "left-pad@1.0.0", "deprecated") == "use String.prototype.padStart()"


def test_npm_view_unknown_package_is_e404(npm: Npm) -> None:
    result = npm.run("view", "no-such-package-here")
    assert result.returncode != 0
    assert "E404" in result.stderr
    assert f"GET 404 {npm.registry}no-such-package-here" in result.stderr


def test_npm_search(npm: Npm) -> None:
    result = npm.run("search", "pad", "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [p["name"] for p in found] == ["pad", "padding", "left-pad"]
    assert f"GET 200 {npm.registry}-/v1/search?text=pad" in result.stderr


def test_npm_search_text_output(npm: Npm) -> None:
    npm.run("view", "left-pad")  # now its packument is cached: maintainers and date known
    result = npm.run("search", "left-pad")
    assert result.returncode == 0, result.stderr
    assert "left-pad" in result.stdout and "String left pad" in result.stdout
    assert "alice" in result.stdout


def test_npm_install_resolves_from_the_abbreviated_documents(npm: Npm, tmp_path: Path) -> None:
    # --package-lock-only resolves through install-v1 packuments without fetching tarballs.
    (tmp_path / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    result = npm.run("install", "left-pad@^1.1.0", "native-addon", "--package-lock-only",
                     "--prefix", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    lock = json.loads((tmp_path / "package-lock.json").read_text())
    left_pad = lock["packages"]["node_modules/left-pad"]
    assert left_pad["version"] == "1.3.0"
    doc = npm.fake.docs["left-pad"]["versions"]["1.3.0"]["dist"]
    assert left_pad["resolved"] == doc["tarball"]
    assert left_pad["integrity"] == doc["integrity"]
    native = lock["packages"]["node_modules/native-addon"]
    assert native["hasInstallScript"] is True  # read from the install-v1 document
    assert native["os"] == ["linux", "darwin"]


def test_npm_install_fetches_tarballs_through_pkgdex(npm: Npm, tmp_path: Path) -> None:
    # npm asks its registry for tarballs the packument places on registry.npmjs.org
    # (replace-registry-host's default); "always" does the same for the fake's, and pkgdex
    # sends npm on to the upstream's tarball, which npm then checks against the integrity.
    (tmp_path / "package.json").write_text('{"name": "app", "version": "1.0.0"}')
    result = npm.run("install", "left-pad@1.3.0", "@pkgdex-test/scoped@1.0.0",
                     "--replace-registry-host=always", "--prefix", str(tmp_path))  # fmt: skip
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "node_modules"
    assert json.loads((installed / "left-pad/package.json").read_text())["version"] == "1.3.0"
    scoped = json.loads((installed / "@pkgdex-test/scoped/package.json").read_text())
    assert scoped["version"] == "1.0.0"
    assert f"{npm.registry}left-pad/-/left-pad-1.3.0.tgz" in result.stderr
    assert f"{npm.registry}@pkgdex-test/scoped/-/scoped-1.0.0.tgz" in result.stderr


def test_npm_dist_tag_ls(npm: Npm) -> None:
    result = npm.run("dist-tag", "ls", "@pkgdex-test/scoped")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["latest: 1.1.0", "next: 2.0.0-beta.1"]


def test_npm_search_with_several_words(npm: Npm) -> None:
    found = npm.json("search", "left", "pad")
    assert [p["name"] for p in found] == ["left-pad"]


def test_npm_search_past_250_results(npm: Npm) -> None:
    result = npm.run("search", "--searchlimit=1000", "pad", "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 3
