"""import_packument (``pkgdex metadata import``), sync (``pkgdex npm sync``) and the demo data."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from pkgdex.cli import app as cli
from pkgdex.config import Settings
from pkgdex.index import queries as index_queries
from pkgdex.npmregistry import jobs
from pkgdex.npmregistry.models import npm_packuments
from pkgdex.npmregistry.packument import InvalidPackumentError
from support.fake_npm import FakeNpm, unused_port_url


def stored_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(npm_packuments.c.name).order_by(npm_packuments.c.name)))


def test_import_stores_the_packument_and_tells_the_index(
    sqlite_engine: Engine, fake: FakeNpm
) -> None:
    assert jobs.import_packument(sqlite_engine, fake.docs["left-pad"]) == "left-pad"
    assert stored_names(sqlite_engine) == ["left-pad"]
    with sqlite_engine.connect() as conn:
        details = index_queries.package_details(conn, "npm", ["left-pad"])
    assert details["left-pad"].version == "1.3.0"
    assert details["left-pad"].summary == "String left pad"


def test_reimport_replaces_the_document(sqlite_engine: Engine, fake: FakeNpm) -> None:
    doc: dict[str, Any] = copy.deepcopy(fake.docs["left-pad"])
    jobs.import_packument(sqlite_engine, doc)
    doc["dist-tags"]["latest"] = "1.1.0"
    jobs.import_packument(sqlite_engine, doc)
    with sqlite_engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(npm_packuments))
        latest = conn.scalar(select(npm_packuments.c.latest))
    assert (count, latest) == (1, "1.1.0")


def test_bad_document_writes_nothing(sqlite_engine: Engine, fake: FakeNpm) -> None:
    jobs.import_packument(sqlite_engine, fake.docs["left-pad"])
    broken = {**fake.docs["left-pad"], "versions": "everything"}
    with pytest.raises(InvalidPackumentError):
        jobs.import_packument(sqlite_engine, broken)
    with sqlite_engine.connect() as conn:
        latest = conn.scalar(select(npm_packuments.c.latest))
    assert latest == "1.3.0"


def test_sync_reports_each_name(sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm) -> None:
    settings = Settings(_env_file=None, database_url=sqlite_url, npm_upstream=fake.base_url)  # type: ignore[call-arg]
    results = jobs.sync(
        sqlite_engine, settings, ["left-pad", "absent", "bad name", "@pkgdex-test/scoped"]
    )
    assert [(r.name, r.outcome) for r in results] == [
        ("left-pad", "updated"),
        ("absent", "not found"),
        ("bad name", "failed"),
        ("@pkgdex-test/scoped", "updated"),
    ]
    assert results[0].detail == "1.3.0"
    assert stored_names(sqlite_engine) == ["@pkgdex-test/scoped", "absent", "left-pad"]


def test_sync_failure_keeps_the_cached_copy(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm
) -> None:
    settings = Settings(_env_file=None, database_url=sqlite_url, npm_upstream=fake.base_url)  # type: ignore[call-arg]
    jobs.sync(sqlite_engine, settings, ["left-pad"])
    fake.fault = "malformed"
    [result] = jobs.sync(sqlite_engine, settings, ["left-pad"])
    assert result.outcome == "failed" and "cached copy is kept" in result.detail
    unreachable = Settings(_env_file=None, database_url=sqlite_url, npm_upstream=unused_port_url())  # type: ignore[call-arg]
    [result] = jobs.sync(sqlite_engine, unreachable, ["right-pad"])
    assert result.outcome == "failed" and "unreachable" in result.detail


def test_cli_sync(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PKGDEX_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PKGDEX_NPM_UPSTREAM", fake.base_url)
    monkeypatch.setenv("PKGDEX_OFFLINE", "0")
    result = CliRunner().invoke(cli, ["npm", "sync", "left-pad", "absent"])
    assert result.exit_code == 0, result.output
    assert "left-pad: updated (1.3.0)" in result.output
    assert "absent: not found" in result.output
    fake.fault = "500"
    assert CliRunner().invoke(cli, ["npm", "sync", "left-pad"]).exit_code == 1
    monkeypatch.setenv("PKGDEX_OFFLINE", "1")
    assert CliRunner().invoke(cli, ["npm", "sync", "left-pad"]).exit_code == 2


def test_demo_data_loads(sqlite_engine: Engine) -> None:
    jobs.load_demo(sqlite_engine)
    assert stored_names(sqlite_engine) == ["@pkgdex/demo", "is-odd", "left-pad"]
