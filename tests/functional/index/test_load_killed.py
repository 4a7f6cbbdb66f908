"""A load killed half-way (SIGKILL, a real process) leaves the previous index serving, intact."""

from __future__ import annotations

import gzip
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from pkgdex.index import jobs, queries
from support.fake_registry import FakeRegistry, serve_registry

HEADER = "name\tversion\tdownloads_a_month\tsummary\n"
LOADER = """
import sys
from pkgdex.db import make_engine
from pkgdex.index.jobs import load_index

url, source = sys.argv[1:3]
def progress(rows):
    print(rows, flush=True)
load_index(make_engine(url), "npm", source, progress=progress)
print("done", flush=True)
"""

pytestmark = pytest.mark.slow


def listing(count: int, prefix: str) -> bytes:
    rows = "".join(f"{prefix}-{i:07d}\t1.0.{i}\t{i}\tpackage {i}\n" for i in range(count))
    return gzip.compress((HEADER + rows).encode(), compresslevel=1)


def snapshot(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as conn:
        return (
            queries.index_status(conn, "npm"),
            queries.search(conn, "npm", "old", 500),
            queries.browse(conn, "npm", 1, 500),
        )


def start_loader(database_url: str, source: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", LOADER, database_url, source],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill_when(loader: subprocess.Popen[str], rows_reported: int) -> None:
    assert loader.stdout is not None
    for line in loader.stdout:
        if line.strip() == "done":
            pytest.fail("the load finished before it could be killed")
        if int(line) >= rows_reported:
            loader.send_signal(signal.SIGKILL)
            break
    assert loader.wait(timeout=30) == -signal.SIGKILL


def assert_recovers(engine: Engine, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.tsv"
    fresh.write_text(HEADER + "fresh\t1.0.0\t1\tnew\n")
    report = jobs.load_index(engine, "npm", str(fresh))
    assert report.loaded == 1
    with engine.connect() as conn:
        assert queries.search(conn, "npm", "fresh", 5)[0].name == "fresh"
        leftover = conn.execute(text("SELECT count(*) FROM index_entries WHERE ecosystem = 'npm'"))
        assert leftover.scalar_one() == 1


@pytest.fixture
def old_index(engine: Engine, tmp_path: Path) -> tuple[object, ...]:
    path = tmp_path / "old.tsv.gz"
    path.write_bytes(listing(300, "old"))
    jobs.load_index(engine, "npm", str(path))
    return snapshot(engine)


def test_killed_while_reading_the_source(
    engine: Engine, database_url: str, tmp_path: Path, old_index: tuple[object, ...]
) -> None:
    source = listing(200_000, "new")
    registry = FakeRegistry(files={"big.tsv.gz": source}, drip_chunk=16_384, drip_delay=0.02)
    with serve_registry(registry) as reg:
        loader = start_loader(database_url, f"{reg.url}/files/big.tsv.gz")
        kill_when(loader, 40_000)
        assert 0 < reg.bytes_sent < len(source)
    assert snapshot(engine) == old_index
    assert_recovers(engine, tmp_path)


def test_killed_while_building_the_new_generation(
    engine: Engine, database_url: str, tmp_path: Path, old_index: tuple[object, ...]
) -> None:
    path = tmp_path / "big.tsv.gz"
    path.write_bytes(listing(150_000, "new"))
    loader = start_loader(database_url, str(path))
    kill_when(loader, 150_000)  # every row staged: numbering, copying and indexing are next
    assert snapshot(engine) == old_index
    assert_recovers(engine, tmp_path)
