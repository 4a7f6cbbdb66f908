"""Test harness: every functional test runs once on SQLite and once on PostgreSQL.

PostgreSQL and Redis come from ``PKGDEX_TEST_DATABASE_URL`` / ``PKGDEX_TEST_REDIS_URL``. Locally
the tests that need them skip with a message when they are unset; with ``PKGDEX_REQUIRE_SERVICES=1``
(as ``.ci/run`` sets) a missing or unreachable service fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from pkgdex import db
from pkgdex.app import create_app
from pkgdex.config import Settings

REQUIRE_SERVICES = os.environ.get("PKGDEX_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("PKGDEX_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("PKGDEX_TEST_REDIS_URL")
SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def service_missing(what: str) -> None:
    message = f"{what} is not configured or not reachable"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (PKGDEX_REQUIRE_SERVICES=1)")
    pytest.skip(message + "; set it to run these tests")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A private schema for this test session, so parallel runs never collide."""
    if not PG_URL:
        service_missing("PostgreSQL (PKGDEX_TEST_DATABASE_URL)")
    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = db.make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # any connection failure means "not reachable"
        admin.dispose()
        service_missing(f"PostgreSQL at {PG_URL} ({exc.__class__.__name__})")
    sep = "&" if "?" in PG_URL else "?"
    url = f"{_psycopg(PG_URL)}{sep}options=-csearch_path%3D{schema},public"
    db.upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _truncate_all(engine: Engine) -> None:
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
            if row[0] != "alembic_version"
        ]
        if tables:
            names = ", ".join(f'"{t}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "pkgdex.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_schema_url")
    engine = db.make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A migrated, empty database on each backend, shared by one module's tests (for the
    live-server tests, whose server process outlives a single test)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("module-db") / "pkgdex.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_schema_url")
    engine = db.make_engine(url)
    _truncate_all(engine)
    engine.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty SQLite database (for unit tests that need one backend only)."""
    path = tmp_path / "unit.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def redis_url() -> str:
    if not REDIS_URL:
        service_missing("Redis (PKGDEX_TEST_REDIS_URL)")
    import redis

    assert REDIS_URL is not None
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis at {REDIS_URL} ({exc.__class__.__name__})")
    return REDIS_URL


SettingsFactory = Callable[..., Settings]


@pytest.fixture
def make_settings(database_url: str) -> SettingsFactory:
    """Settings for a test: the test's database, limits off unless the test turns them on."""

    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "rate_limits": "off",
            "offline": True,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return factory


ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(make_settings: SettingsFactory) -> Iterator[ClientFactory]:
    """In-process HTTP clients over fresh apps; each app is shut down after the test."""
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    yield engine
    engine.dispose()
