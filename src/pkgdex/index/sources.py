"""Reading name-index sources: OSMA CSV, TSV listings, JSON name arrays, PEP 691 JSON.

A source is a path or an http(s) URL; gzip is detected from its magic bytes, the format from
its first bytes when not given. Rows come out as ``Row`` tuples or ``BadRow`` records (with the
1-based line, or element number for JSON), never as exceptions: one broken row must not stop a
load. Problems with the source as a whole (unreadable, truncated gzip, wrong header, empty)
raise ``SourceError`` with a message meant for the person running the load.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import sys
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import IO, NamedTuple

import httpx
import orjson

FORMATS = ("csv", "tsv", "json-names", "pep691")
OSMA_HEADER = ["No.", "Package Name", "Version", "Official Link"]
POPULARITY_COLUMNS = ("rank_among_15000_most_downloaded", "downloads_a_month", "popularity")
MAX_NAME_LENGTH = 214  # npm's limit, the longer of the two registries'
BAD_NAME = re.compile(r"[\s\x00-\x1f\x7f]|[\ud800-\udfff]")
PYPI_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
BAD_TEXT = re.compile(r"[\ud800-\udfff]")  # undecodable bytes, kept as surrogates
MONTH = re.compile(r"^\d{4}-\d{2}$")
csv.field_size_limit(sys.maxsize)


class SourceError(Exception):
    """The source cannot be loaded at all; the current index is left as it is."""


class Row(NamedTuple):
    line: int
    name: str
    version: str
    summary: str | None
    popularity: int | None
    month: str | None


class BadRow(NamedTuple):
    line: int
    reason: str


Item = Row | BadRow


@contextmanager
def open_source(source: str, timeout: float = 60.0) -> Iterator[IO[bytes]]:
    """Open a path or URL as a binary stream, un-gzipped when it is gzip."""
    with _open_raw(source, timeout) as raw:
        buffered = io.BufferedReader(raw, 1 << 20)
        if buffered.peek(2)[:2] == b"\x1f\x8b":
            yield gzip.GzipFile(fileobj=buffered)  # type: ignore[misc]
        else:
            yield buffered


@contextmanager
def _open_raw(source: str, timeout: float) -> Iterator[io.RawIOBase]:
    if source.startswith(("http://", "https://")):
        try:
            with httpx.stream("GET", source, timeout=timeout, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise SourceError(f"{source}: HTTP {response.status_code}")
                yield _StreamReader(response.iter_bytes(1 << 16))
        except httpx.HTTPError as exc:
            raise SourceError(f"{source}: {exc}") from exc
        return
    path = Path(source)
    if not path.is_file():
        raise SourceError(f"{source}: no such file")
    with path.open("rb", buffering=0) as handle:
        yield handle


class _StreamReader(io.RawIOBase):
    """A read-only raw stream over an iterator of byte chunks (an HTTP body)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
            except httpx.HTTPError as exc:
                raise SourceError(f"download interrupted: {exc}") from exc
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def read_rows(stream: IO[bytes], fmt: str | None) -> tuple[str, Iterator[Item]]:
    """Detect (or check) the format and return it with the iterator over its rows."""
    try:
        head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"unreadable source: {exc}") from exc
    if not head.strip():
        raise SourceError("the source is empty")
    fmt = fmt or detect_format(head)
    if fmt not in FORMATS:
        raise SourceError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    readers = {"csv": _csv_rows, "tsv": _tsv_rows, "json-names": _json_names, "pep691": _pep691}
    return fmt, _guard(readers[fmt](stream))


def detect_format(head: bytes) -> str:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "json-names"
    if text.startswith(b"{"):
        return "pep691"
    first_line = text.split(b"\n", 1)[0]
    if first_line.startswith(b"No.,"):
        return "csv"
    if b"\t" in first_line:
        return "tsv"
    raise SourceError(
        "cannot tell the format from the first line "
        f"{first_line[:80]!r}; pass --format ({', '.join(FORMATS)})"
    )


def _guard(items: Iterator[Item]) -> Iterator[Item]:
    with read_errors():
        yield from items


@contextmanager
def read_errors() -> Iterator[None]:
    """Turn low-level failures in the middle of a stream into one clear SourceError."""
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SourceError(f"the source is truncated or corrupt ({exc})") from exc
    except OSError as exc:
        raise SourceError(f"the source could not be read ({exc})") from exc


def _text(stream: IO[bytes]) -> io.TextIOWrapper:
    # surrogateescape: undecodable bytes become a bad row instead of failing the whole load
    return io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")


def _csv_rows(stream: IO[bytes]) -> Iterator[Item]:
    reader = csv.reader(_text(stream))
    header = next(reader, None)
    if header != OSMA_HEADER:
        raise SourceError(f"expected the CSV header {','.join(OSMA_HEADER)}, got {header!r}")
    for line, fields in enumerate(reader, start=2):
        if len(fields) != len(OSMA_HEADER):
            yield BadRow(line, f"expected {len(OSMA_HEADER)} fields, got {len(fields)}")
            continue
        yield make_row(line, fields[1], fields[2], None, None, None)


class TsvLayout(NamedTuple):
    """How many fields a TSV row has, and where its name, version, summary, popularity and
    month are (``width``, one past the last field, for a column the listing lacks)."""

    width: int
    columns: tuple[int, int, int, int, int]


def tsv_layout(header: list[str]) -> TsvLayout:
    if "name" not in header:
        raise SourceError(f"expected a TSV header with a 'name' column, got {header!r}")
    width = len(header)
    col = {name: header.index(name) for name in header}
    popularity = next((col[c] for c in POPULARITY_COLUMNS if c in col), None)
    columns = (col["name"], col.get("version"), col.get("summary"), popularity, col.get("month"))
    name, version, summary, pop, month = (width if i is None else i for i in columns)
    return TsvLayout(width, (name, version, summary, pop, month))


def tsv_reader(text: IO[str]) -> Iterator[list[str]]:
    return csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE)


def _tsv_rows(stream: IO[bytes]) -> Iterator[Item]:
    reader = tsv_reader(_text(stream))
    yield from tsv_items(reader, tsv_layout(next(reader, [])), 2)


def tsv_items(records: Iterable[list[str]], layout: TsvLayout, start: int) -> Iterator[Item]:
    """The rows of TSV records, the first of them at line ``start``."""
    width = layout.width
    # A missing column reads the empty string appended to every row at index ``width``.
    pick = itemgetter(*layout.columns)
    for line, fields in enumerate(records, start=start):
        if len(fields) != width:
            if not fields:
                continue  # a blank line, typically the last one
            yield BadRow(line, f"expected {width} fields, got {len(fields)}")
            continue
        fields.append("")
        yield make_row(line, *pick(fields))


def _json_document(stream: IO[bytes]) -> object:
    try:
        return orjson.loads(stream.read())
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"not valid JSON ({exc})") from exc


def _json_names(stream: IO[bytes]) -> Iterator[Item]:
    document = _json_document(stream)
    if not isinstance(document, list):
        raise SourceError("expected a JSON array of package names")
    for number, name in enumerate(document, start=1):
        if not isinstance(name, str):
            yield BadRow(number, f"not a string: {str(name)[:60]}")
            continue
        yield make_row(number, name, None, None, None, None)


def _pep691(stream: IO[bytes]) -> Iterator[Item]:
    document = _json_document(stream)
    projects = document.get("projects") if isinstance(document, dict) else None
    if not isinstance(projects, list):
        raise SourceError("expected a PEP 691 index: an object with a 'projects' array")
    for number, project in enumerate(projects, start=1):
        name = project.get("name") if isinstance(project, dict) else None
        if not isinstance(name, str):
            yield BadRow(number, "project without a string 'name'")
            continue
        yield make_row(number, name, None, None, None, None)


VERSION_MAX_LENGTH = 200  # the index's column


def valid_version(version: str) -> bool:
    """Whether the index holds ``version`` as it is (else a row says "latest")."""
    return len(version) <= VERSION_MAX_LENGTH and BAD_NAME.search(version) is None


def shown_summary(summary: str | None) -> str | None:
    """The summary as the index keeps it: without NUL characters, which no PostgreSQL text
    column holds (a summary is only shown, so the row stays good)."""
    return summary.replace("\x00", "") if summary and "\x00" in summary else summary


def make_row(
    line: int,
    name: str,
    version: str | None,
    summary: str | None,
    popularity: str | None,
    month: str | None,
) -> Item:
    """Validate one source row's fields; the reason says what is wrong when it is bad."""
    if not name or len(name) > MAX_NAME_LENGTH or BAD_NAME.search(name):
        return BadRow(line, f"invalid package name {name[:60]!r}")
    version = version or ""
    if version and not valid_version(version):
        return BadRow(line, f"invalid version {version[:60]!r}")
    pop: int | None = None
    if popularity:
        if not popularity.isdigit() or len(popularity) > 18:
            return BadRow(line, f"popularity is not a whole number: {popularity[:30]!r}")
        pop = int(popularity)
    if month and not MONTH.match(month):
        return BadRow(line, f"month is not YYYY-MM: {month[:30]!r}")
    if summary and BAD_TEXT.search(summary):
        return BadRow(line, "summary is not valid UTF-8")
    return Row(line, name, version or "latest", shown_summary(summary) or None, pop, month or None)
