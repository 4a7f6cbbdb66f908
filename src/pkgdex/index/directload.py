"""Writing a parsed listing (one Arrow table) as the next generation on SQLite, in one pass.

The general path stages rows in a TEMP table, then lets SQL number new names and copy the
rows into ``index_entries`` in key order: every row is written twice and sorted twice. With
the rows already in memory as columns, Arrow and NumPy sort them by key (stably, so of
repeated names the first one comes first), number new names in source order and give every
row its browse position; each row is then written once, in key order, so ids follow key
order exactly as the SQL copy makes them. New numbers go in in the same pass and the same
transaction. The generation stays invisible until ``services.swap_in``, as on the general path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, text

from pkgdex.index.services import duplicate_row, generation_range
from pkgdex.index.sources import BadRow

BATCH_ROWS = 50_000
Ints = npt.NDArray[np.int64]
# Rows go in through a plain table, one short statement per row, and then into the indexed
# tables with one INSERT ... SELECT each: SQLite then keeps its cursors open and appends, which
# costs a third less than running the indexed INSERT once per row.
CREATE_SORTED = (
    "CREATE TEMP TABLE tmp_index_sorted (pos INTEGER PRIMARY KEY, key TEXT NOT NULL, "
    "name TEXT NOT NULL, no INTEGER NOT NULL, bpos INTEGER NOT NULL, version TEXT NOT NULL, "
    "summary TEXT, popularity BIGINT, month TEXT)"
)
STAGE_SORTED = "INSERT INTO tmp_index_sorted VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?)"
COPY_NUMBERS = text(
    "INSERT INTO index_numbers (ecosystem, key, no) "
    "SELECT :eco, key, no FROM tmp_index_sorted WHERE no > :base ORDER BY pos"
)
COPY_ENTRIES = text(
    "INSERT INTO index_entries (ecosystem, gen, key, name, no, bpos, version, summary, "
    "popularity, month) SELECT :eco, :gen, key, name, no, bpos, version, summary, popularity, "
    "month FROM tmp_index_sorted ORDER BY pos"
)


def first_of_each_key(table: pa.Table, on_bad: Callable[[BadRow], None]) -> Ints:
    """Row indices of ``table`` in key order, without the rows repeating an earlier key."""
    order = pc.sort_indices(table.column("key")).to_numpy()  # stable: line order among equals
    keys = table.column("key").take(order)
    repeated = np.zeros(len(order), dtype=np.bool_)
    if len(order) > 1:
        same = pc.equal(keys.slice(1), keys.slice(0, len(order) - 1))
        repeated[1:] = same.to_numpy(zero_copy_only=False)
    if repeated.any():
        dup = pa.array(order[repeated])
        lines = table.column("line").take(dup).to_pylist()
        names = table.column("name").take(dup).to_pylist()
        for line, name in zip(lines, names, strict=True):
            on_bad(duplicate_row((line, "", name, "", None, None, None)))
    del keys
    release_memory()
    return np.asarray(order[~repeated], dtype=np.int64)


def release_memory() -> None:
    """Hand Arrow's freed blocks back to the system: its allocator keeps them otherwise, and
    SQLite's cache and the driver's row objects cannot use them (peak memory of a 4 M load)."""
    pa.default_memory_pool().release_unused()


def write_generation(
    conn: Connection, ecosystem: str, gen: int, table: pa.Table, order: Ints
) -> tuple[int, int, int]:
    """Number and write the rows ``order`` picks as generation ``gen``: (first, last id, count)."""
    lines = table.column("line").take(order).to_numpy()
    base, numbers = _numbers(conn, ecosystem, table.column("key"), order, lines)
    release_memory()
    bpos = np.empty(len(numbers), dtype=np.int64)
    bpos[np.argsort(numbers, kind="stable")] = np.arange(1, len(numbers) + 1)
    driver = conn.connection.driver_connection
    # The plain table is written and read once, in order: a small cache does, and the memory
    # is better left to the rows still in Arrow.
    driver.execute("PRAGMA temp.cache_size=-32768")  # type: ignore[union-attr]
    driver.execute("DROP TABLE IF EXISTS tmp_index_sorted")  # type: ignore[union-attr]
    driver.execute(CREATE_SORTED)  # type: ignore[union-attr]
    for start in range(0, len(order), BATCH_ROWS):
        part = slice(start, start + BATCH_ROWS)
        rows = _rows(table.take(order[part]), numbers[part], bpos[part])
        driver.executemany(STAGE_SORTED, rows)  # type: ignore[union-attr]
    params = {"eco": ecosystem, "gen": gen, "base": base}
    conn.execute(COPY_NUMBERS, params)  # names never seen: numbered above the old maximum
    conn.execute(COPY_ENTRIES, params)
    driver.execute("DROP TABLE tmp_index_sorted")  # type: ignore[union-attr]
    written = generation_range(conn, ecosystem, gen)
    conn.commit()
    return written


def _numbers(
    conn: Connection, ecosystem: str, keys: Any, order: Ints, lines: Ints
) -> tuple[int, Ints]:
    """Each key's stable number (names never seen get the next ones above the old maximum, in
    source order) and that maximum."""
    base = conn.execute(
        text("SELECT coalesce(max(no), 0) FROM index_numbers WHERE ecosystem = :eco"),
        {"eco": ecosystem},
    ).scalar_one()
    numbers = (
        _known_numbers(conn, ecosystem, keys, order) if base else np.zeros(len(order), np.int64)
    )
    fresh = np.flatnonzero(numbers == 0)
    fresh = fresh[np.argsort(lines[fresh], kind="stable")]
    numbers[fresh] = np.arange(base + 1, base + 1 + len(fresh), dtype=np.int64)
    return int(base), numbers


def _known_numbers(conn: Connection, ecosystem: str, keys: Any, order: Ints) -> Ints:
    """The number each key already has (0 for none), looked up by SQLite in key order.

    Only the numbers come back to Python: reading every known name to match them here cost
    a reload of 4.4 M names ten seconds and most of the memory budget.
    """
    driver = conn.connection.driver_connection
    driver.execute("DROP TABLE IF EXISTS tmp_index_keys")  # type: ignore[union-attr]
    driver.execute("CREATE TEMP TABLE tmp_index_keys (pos INTEGER PRIMARY KEY, key TEXT NOT NULL)")  # type: ignore[union-attr]
    for start in range(0, len(order), BATCH_ROWS):
        part = keys.take(order[start : start + BATCH_ROWS]).to_pylist()
        driver.executemany("INSERT INTO tmp_index_keys (key) VALUES (?)", zip(part))  # type: ignore[union-attr]
    found = driver.execute(  # type: ignore[union-attr]
        "SELECT coalesce(n.no, 0) FROM tmp_index_keys k LEFT JOIN index_numbers n "
        "ON n.ecosystem = ? AND n.key = k.key ORDER BY k.pos",
        (ecosystem,),
    )
    numbers = np.fromiter((row[0] for row in found), dtype=np.int64, count=len(order))
    driver.execute("DROP TABLE tmp_index_keys")  # type: ignore[union-attr]
    return numbers


def _rows(rows: pa.Table, numbers: Ints, bpos: Ints) -> Iterator[tuple[Any, ...]]:
    columns = [rows.column(c).to_pylist() for c in ("key", "name")]
    details = [rows.column(c).to_pylist() for c in ("version", "summary", "popularity", "month")]
    return zip(*columns, numbers.tolist(), bpos.tolist(), *details, strict=True)
