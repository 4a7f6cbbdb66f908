"""PostgreSQL pool: a connection dropped while idle in the pool is replaced before use, and one
returned a moment ago is used without a ping round trip."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from pkgdex import db


@pytest.fixture
def pg_engine(pg_schema_url: str) -> Iterator[Engine]:
    engine = db.make_engine(pg_schema_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the pool's pings."""
    counted: list[int] = []
    ping = pg_engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        counted.append(1)
        return ping(dbapi_connection)

    monkeypatch.setattr(pg_engine.dialect, "do_ping", counting)
    return counted


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_just_returned_is_not_pinged(pg_engine: Engine, pings: list[int]) -> None:
    first = _backend_pid(pg_engine)
    assert _backend_pid(pg_engine) == first
    assert pings == []


def test_a_connection_dropped_while_idle_is_replaced(
    pg_engine: Engine, pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.05)
    dropped = _backend_pid(pg_engine)
    with db.make_engine(pg_engine.url).connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    time.sleep(0.1)
    replacement = _backend_pid(pg_engine)  # no error: the ping found the dead connection
    assert replacement != dropped
    assert len(pings) == 1
