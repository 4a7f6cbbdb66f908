"""``index sync`` against a fake upstream on loopback: PyPI's PEP 691 index, npm's _changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from pkgdex.cli import app
from pkgdex.config import Settings
from pkgdex.index import jobs, queries, sync
from pkgdex.index.sources import SourceError
from support.fake_registry import PEP691, FakeRegistry, serve_registry

SettingsFactory = Callable[..., Settings]


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    with serve_registry() as served:
        yield served


@pytest.fixture
def settings(make_settings: SettingsFactory, registry: FakeRegistry) -> Settings:
    return make_settings(
        offline=False, pypi_upstream=registry.url, npm_changes_upstream=registry.url
    )


def names(engine: Engine, ecosystem: str) -> list[str]:
    with engine.connect() as conn:
        return [row.name for row in queries.browse(conn, ecosystem, 1, 500)]


def test_pypi_sync_loads_the_pep691_index(
    engine: Engine, settings: Settings, registry: FakeRegistry, tmp_path: Path
) -> None:
    listing = tmp_path / "l.tsv"
    listing.write_text("name\tversion\nrequests\t2.32.3\nold-name\t1.0\n")
    jobs.load_index(engine, "pypi", str(listing))
    registry.projects = ["requests", "Flask", "zope.interface"]
    report = jobs.sync_index(engine, settings, "pypi")
    assert (report.format, report.loaded, report.added, report.removed) == ("pep691", 3, 2, 1)
    assert registry.requests[-1].path == "/simple/" and PEP691 in registry.requests[-1].accept
    assert names(engine, "pypi") == ["requests", "Flask", "zope.interface"]
    with engine.connect() as conn:
        assert queries.package_details(conn, "pypi", ["requests"])["requests"].version == "2.32.3"


def test_npm_sync_follows_changes_from_the_stored_sequence(
    engine: Engine, settings: Settings, registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sync, "CHANGES_PAGE", 2)  # several pages from a short feed
    for name in ("react", "left-pad", "lodash"):
        registry.add_change(name)
    registry.add_change("left-pad", deleted=True)
    report = jobs.sync_index(engine, settings, "npm")
    assert (report.added, report.removed, report.loaded) == (3, 1, 2)
    assert names(engine, "npm") == ["react", "lodash"]
    assert [r.query["since"] for r in registry.requests] == ["0", "2", "4"]

    registry.requests.clear()
    registry.add_change("left-pad")
    registry.add_change("preact")
    report = jobs.sync_index(engine, settings, "npm")
    assert (report.added, report.removed) == (2, 0)
    assert registry.requests[0].query["since"] == "4"
    with engine.connect() as conn:
        rows = queries.browse(conn, "npm", 1, 10)
        state = queries.index_status(conn, "npm")
    assert [(r.no, r.name) for r in rows] == [
        (1, "react"),
        (3, "lodash"),
        (2, "left-pad"),
        (4, "preact"),
    ]
    assert state.loaded and state.total == 4


@pytest.mark.parametrize("fault", ["status", "malformed"])
@pytest.mark.parametrize("ecosystem", ["pypi", "npm"])
def test_upstream_faults_fail_cleanly_and_keep_the_index(
    engine: Engine,
    settings: Settings,
    registry: FakeRegistry,
    tmp_path: Path,
    fault: str,
    ecosystem: str,
) -> None:
    listing = tmp_path / "l.tsv"
    listing.write_text("name\tversion\nkeeper\t1.0\n")
    jobs.load_index(engine, ecosystem, str(listing))
    registry.projects = ["intruder"]
    registry.add_change("intruder")
    if fault == "status":
        registry.status = 503
    else:
        registry.malformed = True
    with pytest.raises(SourceError):
        jobs.sync_index(engine, settings, ecosystem)
    assert names(engine, ecosystem) == ["keeper"]


def test_offline_never_calls_the_upstream(
    engine: Engine, make_settings: SettingsFactory, registry: FakeRegistry
) -> None:
    settings = make_settings(offline=True, pypi_upstream=registry.url)
    with pytest.raises(SourceError, match="offline"):
        jobs.sync_index(engine, settings, "pypi")
    assert registry.requests == []


def test_cli_load_and_sync_exit_codes(
    database_url: str, registry: FakeRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PKGDEX_DATABASE_URL", database_url)
    monkeypatch.setenv("PKGDEX_PYPI_UPSTREAM", registry.url)
    monkeypatch.setenv("PKGDEX_OFFLINE", "0")
    listing = tmp_path / "l.tsv"
    listing.write_text("name\tversion\nrequests\t1.0\nbad name\t1\n")
    runner = CliRunner()
    loaded = runner.invoke(app, ["index", "load", "pypi", str(listing)])
    assert loaded.exit_code == 0, loaded.output
    assert "1 names" in loaded.output and "line 3" in loaded.output
    strict = runner.invoke(app, ["index", "load", "pypi", str(listing), "--strict"])
    assert strict.exit_code == 2 and "unchanged" in strict.output
    wrong = runner.invoke(app, ["index", "load", "cargo", str(listing)])
    assert wrong.exit_code == 3
    registry.projects = ["flask"]
    synced = runner.invoke(app, ["index", "sync", "pypi"])
    assert synced.exit_code == 0, synced.output
    registry.status = 500
    failed = runner.invoke(app, ["index", "sync", "pypi"])
    assert failed.exit_code == 2 and "HTTP 500" in failed.output
