"""The fake npm registry and a migrated SQLite engine for the npmregistry unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from pkgdex import db
from support.fake_npm import FakeNpm, serve_fake_npm


@pytest.fixture
def fake() -> Iterator[FakeNpm]:
    with serve_fake_npm() as served:
        yield served


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = db.make_engine(sqlite_url)
    yield engine
    engine.dispose()
