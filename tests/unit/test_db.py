"""The database layer: the PostgreSQL pool (a connection dropped while idle in the pool is
replaced before use, and one returned a moment ago is used without a ping round trip) and
statements run as the driver's own SQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, select, text

from pkgdex import db
from pkgdex.metadata.models import metadata_projects


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


def test_a_driver_statement_reads_the_drivers_own_rows_with_bound_parameters(
    engine: Engine,
) -> None:
    statement = db.DriverStatement(
        lambda: (
            select(metadata_projects.c.name, metadata_projects.c.last_serial)
            .where(metadata_projects.c.name != bindparam("skip"))
            .order_by(metadata_projects.c.name)
        )
    )
    rows = [
        {"name": name, "display_name": name, "status": 200, "last_serial": serial}
        for name, serial in (("a", 1), ("b'; --", 2), ("c", 3))
    ]
    with engine.begin() as conn:
        conn.execute(
            metadata_projects.insert(),
            [{**row, "fetched_at": 0.0, "revision": "r"} for row in rows],
        )
        read = statement.rows(conn, {"skip": "c"})
    assert read == [("a", 1), ("b'; --", 2)]
    assert all(type(row) is tuple for row in read)  # not SQLAlchemy's rows
