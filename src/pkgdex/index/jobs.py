"""Long-running work of the index domain, shared by the CLI and the server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import IO

from sqlalchemy import Connection, Engine

from pkgdex.config import Settings
from pkgdex.index import directload, fastparse, services, sync
from pkgdex.index.sources import BadRow, Item, SourceError, open_source, read_rows

BATCH_SIZE = 20_000
BAD_EXAMPLES = 5
NAME_ONLY_FORMATS = ("json-names", "pep691")
Progress = Callable[[int], None]


@dataclass
class LoadReport:
    ecosystem: str
    source: str
    format: str
    loaded: int = 0
    bad_rows: int = 0
    bad_examples: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    added: int = 0
    removed: int = 0
    seconds: float = 0.0

    def note_bad(self, bad: BadRow) -> None:
        self.bad_rows += 1
        self.bad_examples.append((bad.line, bad.reason))
        self.bad_examples.sort()
        del self.bad_examples[BAD_EXAMPLES:]


def load_index(
    engine: Engine,
    ecosystem: str,
    source: str,
    fmt: str | None = None,
    *,
    strict: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Load ``source`` as the new index of ``ecosystem``, atomically.

    Raises ``SourceError`` when the source is unusable (or, with ``strict``, has any bad row);
    the previous index then keeps serving, untouched.
    """
    started = time.monotonic()
    with open_source(source) as stream:
        fmt, items = read_rows(stream, fmt)
        report = LoadReport(ecosystem, source, fmt)
        if engine.dialect.name == "sqlite" and fastparse.can_read(stream, fmt):
            _load_columns(engine, report, stream, strict=strict, progress=progress)
        else:
            load_items(engine, report, items, strict=strict, progress=progress)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def load_items(
    engine: Engine,
    report: LoadReport,
    items: Iterator[Item],
    *,
    strict: bool,
    progress: Progress | None,
) -> None:
    """Stage ``items``, build the next generation beside the serving one and swap it in."""
    with _loading(engine, report.ecosystem) as conn:
        _load_locked(conn, report, items, strict=strict, progress=progress)


@contextmanager
def _loading(engine: Engine, ecosystem: str) -> Iterator[Connection]:
    """A connection tuned for bulk work that holds the ecosystem's load lock."""
    with engine.connect() as conn:
        try:
            _tune_for_bulk(conn)
            with services.load_lock(conn, ecosystem):
                yield conn
        finally:
            # The staging table and the bulk-load settings live as long as the driver
            # connection: close it rather than hand it back to the pool.
            conn.invalidate()


def _load_columns(
    engine: Engine,
    report: LoadReport,
    stream: IO[bytes],
    *,
    strict: bool,
    progress: Progress | None,
) -> None:
    """The fast path for TSV on SQLite: parse into columns, then write the generation once."""
    with _loading(engine, report.ecosystem) as conn:
        serving = services.ensure_state(conn, report.ecosystem)
        services.clear_leftovers(conn, report.ecosystem, serving.gen)
        table = fastparse.read_tsv(stream, report.ecosystem, report.note_bad, progress)
        order = directload.first_of_each_key(table, report.note_bad)
        report.loaded = len(order)
        _refuse_unusable(report, strict)
        gen = serving.gen + 1
        written = directload.write_generation(conn, report.ecosystem, gen, table, order)
        del table, order  # the search index and the swap need none of it
        directload.release_memory()
        _index_and_swap(conn, report, serving, *written)


def _load_locked(
    conn: Connection,
    report: LoadReport,
    items: Iterator[Item],
    *,
    strict: bool,
    progress: Progress | None,
) -> None:
    serving = services.ensure_state(conn, report.ecosystem)
    services.clear_leftovers(conn, report.ecosystem, serving.gen)
    services.create_stage(conn)
    _stage(conn, report, items, progress)
    services.index_stage(conn)
    _refuse_unusable(report, strict)
    _build_and_swap(conn, report, serving)


def _build_and_swap(conn: Connection, report: LoadReport, serving: services.Serving) -> None:
    eco, gen = report.ecosystem, serving.gen + 1
    services.number_new_names(conn, eco)
    details_from = serving.gen if report.format in NAME_ONLY_FORMATS else None
    first_id, last_id, total = services.build_generation(conn, eco, gen, details_from)
    _index_and_swap(conn, report, serving, first_id, last_id, total)


def _index_and_swap(
    conn: Connection,
    report: LoadReport,
    serving: services.Serving,
    first_id: int,
    last_id: int,
    total: int,
) -> None:
    eco, gen = report.ecosystem, serving.gen + 1
    services.build_search_index(conn, eco, gen)
    common = services.count_common(conn, eco, serving.gen, gen) if serving.total else 0
    services.swap_in(
        conn, eco, services.Swap(gen, first_id, last_id, total, report.source, report.format)
    )
    services.clear_leftovers(conn, eco, gen)
    report.loaded, report.added, report.removed = total, total - common, serving.total - common


def _stage(
    conn: Connection, report: LoadReport, items: Iterator[Item], progress: Progress | None
) -> None:
    """Parse here while a writer thread inserts the previous batch (the driver releases the GIL)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-stage") as writer:
        pending: Future[None] | None = None
        for batch in _batches(report, items):
            if pending is not None:
                pending.result()
            pending = writer.submit(services.stage_rows, conn, batch)
            report.loaded += len(batch)
            if progress:
                progress(report.loaded)
        if pending is not None:
            pending.result()
    conn.commit()


def _batches(report: LoadReport, items: Iterator[Item]) -> Iterator[list[services.StagedRow]]:
    # Rows arrive in line order, so the first row with a key is the one kept: checking here
    # costs a set lookup per row instead of a sort and a window over the staged table.
    batch: list[services.StagedRow] = []
    seen: set[str] = set()
    for item in items:
        staged = item if isinstance(item, BadRow) else services.to_staged(report.ecosystem, item)
        if not isinstance(staged, BadRow) and staged[1] in seen:
            staged = services.duplicate_row(staged)
        if isinstance(staged, BadRow):
            report.note_bad(staged)
            continue
        seen.add(staged[1])
        batch.append(staged)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _refuse_unusable(report: LoadReport, strict: bool) -> None:
    if strict and report.bad_rows:
        line, reason = report.bad_examples[0]
        raise SourceError(
            f"{report.bad_rows} bad row(s) and --strict is set; first at line {line}: {reason}"
        )
    if report.loaded == 0:
        raise SourceError("the source has no usable rows; the current index is kept")


def _tune_for_bulk(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        # Stage on disk, not in memory, and read through the page cache rather than a map of
        # the whole file, so 4.5 M rows stay within the memory budget.
        conn.exec_driver_sql("PRAGMA temp_store=FILE")
        conn.exec_driver_sql("PRAGMA mmap_size=0")
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
        conn.exec_driver_sql("PRAGMA temp.cache_size=-131072")
    elif (conn.dialect.server_version_info or (0,)) >= (14,):
        # A killed loader's server session notices within a second and rolls back (releasing
        # the load lock), instead of finishing its statement first.
        conn.exec_driver_sql("SET client_connection_check_interval = 1000")
    conn.commit()


def sync_index(
    engine: Engine, settings: Settings, ecosystem: str, progress: Progress | None = None
) -> LoadReport:
    """Bring ``ecosystem`` up to date from its configured upstream.

    PyPI: a full load of the PEP 691 index (names only; known versions and summaries kept).
    npm: the ``_changes`` feed applied from the stored sequence to the serving index.
    """
    started = time.monotonic()
    if ecosystem == "pypi":
        url, stream = sync.pypi_index(settings)
        fmt, items = read_rows(stream, "pep691")
        report = LoadReport(ecosystem, url, fmt)
        load_items(engine, report, items, strict=False, progress=progress)
    else:
        report = _sync_npm(engine, settings, progress)
    report.seconds = round(time.monotonic() - started, 3)
    return report


def _sync_npm(engine: Engine, settings: Settings, progress: Progress | None) -> LoadReport:
    report = LoadReport("npm", settings.npm_changes_upstream, "npm-changes")
    with engine.connect() as conn:
        since = services.ensure_state(conn, "npm").changes_seq or "0"
    for page in sync.npm_changes(settings, since):
        added, removed = services.apply_changes(engine, "npm", page.changes, page.last_seq)
        report.added += added
        report.removed += removed
        if progress:
            progress(report.added + report.removed)
    with engine.connect() as conn:
        report.loaded = services.ensure_state(conn, "npm").total
    return report


def record_seen(
    engine: Engine, ecosystem: str, name: str, version: str | None, summary: str | None
) -> None:
    """Add or refresh one name seen by another domain, without a full load."""
    services.record_seen(engine, ecosystem, name, version, summary)


def load_demo(engine: Engine) -> None:
    """Fill the demo database with the bundled snapshot of both ecosystems."""
    data = resources.files("pkgdex.demo") / "data"
    for ecosystem in ("pypi", "npm"):
        with resources.as_file(data / f"{ecosystem}-demo.tsv.gz") as path:
            load_index(engine, ecosystem, str(path), "tsv")
