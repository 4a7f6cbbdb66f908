"""Engines, the shared metadata and migrations.

SQLite is the embedded default (WAL, so readers never wait for a loader); PostgreSQL is the
scale-out option. Both run the same Alembic migrations. Each domain declares its tables on
``metadata`` in its own ``models.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Connection,
    CursorResult,
    Engine,
    MetaData,
    create_engine,
    event,
    exc,
    make_url,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class DriverStatement:
    """A statement compiled once per dialect and run as the driver's own SQL: for statements
    run so often, or over so many rows, that SQLAlchemy's per-execution work (its statement
    cache, its parameter processing) costs more than the database's. Only for parameters and
    columns whose types convert nothing on the way in or out."""

    def __init__(self, build: Callable[[], ClauseElement]) -> None:
        self._build = build
        # (dialect, paramstyle) -> (SQL, the parameters' order when positional, else None)
        self._compiled: dict[tuple[type, str], tuple[str, tuple[str, ...] | None]] = {}

    def execute(
        self, conn: Connection, params: Mapping[str, Any]
    ) -> CursorResult[*tuple[Any, ...]]:
        sql, order = self._sql(conn)
        return conn.exec_driver_sql(sql, _bound(order, params))

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row as the driver's own tuple: for reads of thousands of rows, where
        building SQLAlchemy's row of each cost a fifth of the read."""
        result = self.execute(conn, params)
        try:
            return cast(list[tuple[Any, ...]], result.cursor.fetchall())
        finally:
            result.close()

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        sql, order = self._sql(conn)
        conn.exec_driver_sql(sql, [_bound(order, row) for row in rows])

    def _sql(self, conn: Connection) -> tuple[str, tuple[str, ...] | None]:
        dialect = conn.dialect
        key = (type(dialect), dialect.paramstyle)
        if key not in self._compiled:
            compiled = cast(SQLCompiler, self._build().compile(dialect=dialect))
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            self._compiled[key] = (str(compiled), order)
        return self._compiled[key]


def _bound(order: tuple[str, ...] | None, params: Mapping[str, Any]) -> Any:
    return dict(params) if order is None else tuple(params[name] for name in order)


MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# A pooled PostgreSQL connection is pinged before use only when it has sat in the pool longer
# than this; one returned a moment ago has just been seen working.
PING_AFTER_IDLE_SECONDS = 1.0
_RETURNED_AT = "pkgdex_returned_at"


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the per-backend settings pkgdex relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, **kwargs)
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """``pool_pre_ping``, but only for connections idle longer than PING_AFTER_IDLE_SECONDS.

    A ping is a round trip on every checkout: it was one of four per index page (with BEGIN,
    the query and ROLLBACK), and on a busy machine each round trip waits for the server
    process to be scheduled. What the ping is for (a connection dropped while it sat in the
    pool: a database restart, an idle timeout) is still caught; a failed ping discards every
    pooled connection and the checkout gets a fresh one, as with ``pool_pre_ping``.
    """

    def returned(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    def checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.InvalidatePoolError(str(error)) from error

    event.listen(engine, "connect", returned)  # a fresh connection needs no ping
    event.listen(engine, "checkin", returned)
    event.listen(engine, "checkout", checkout)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (creating it when needed)."""
    command.upgrade(alembic_config(url), revision)


def check(url: str) -> None:
    """Fail when the models and the migrations disagree (``alembic check``)."""
    command.check(alembic_config(url))
