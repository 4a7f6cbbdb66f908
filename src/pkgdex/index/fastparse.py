"""Reading a TSV listing into Arrow tables, a chunk of lines per call: the fast path of a load.

``sources`` reads a row at a time, which costs a load most of its time in Python objects.
Here Arrow splits a chunk of lines and the usual checks and search keys are computed for whole
columns. Only rows that plainly pass every check take that route; any other row of the chunk
goes through ``sources.make_row`` one by one, and a chunk Arrow cannot read as plain lines (CR
line ends, blank lines, undecodable bytes, a wrong number of fields) goes through the
row-by-row reader entirely. Bad rows therefore get exactly the lines and reasons they get
there. Repeated names are left in: ``directload`` finds them for the whole source at once.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pkgdex.index.services import StagedRow, to_staged
from pkgdex.index.sources import (
    MAX_NAME_LENGTH,
    VERSION_MAX_LENGTH,
    BadRow,
    Row,
    TsvLayout,
    make_row,
    read_errors,
    tsv_items,
    tsv_layout,
    tsv_reader,
)

STRING_BYTES_MAX = (1 << 31) - (1 << 20)  # a string column's data and offsets, with room
CHUNK_BYTES = 1 << 20  # small enough that progress shows while a slow download streams in
SCHEMA = pa.schema(
    [
        ("line", pa.int64()),
        ("key", pa.string()),
        ("name", pa.string()),
        ("version", pa.string()),
        ("summary", pa.string()),
        ("popularity", pa.int64()),
        ("month", pa.string()),
    ]
)
# Within ASCII, what sources.BAD_NAME refuses (Python's \s there is [\t\n\v\f\r\x1c-\x1f ]).
_PLAIN = r"^[\x21-\x7e]+$"
_PYPI_NAME = r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$"
_DIGITS = r"^[0-9]{1,18}$"
_MONTH = r"^[0-9]{4}-[0-9]{2}$"
Progress = Callable[[int], None]
BadSink = Callable[[BadRow], None]


def can_read(stream: IO[bytes], fmt: str) -> bool:
    """A TSV whose header line is plain (LF-terminated, in the first bytes)."""
    if fmt != "tsv" or not hasattr(stream, "peek"):
        return False
    head = stream.peek(4096)[:4096]
    return b"\n" in head and b"\r" not in head.split(b"\n", 1)[0]


def read_tsv(
    stream: IO[bytes], ecosystem: str, on_bad: BadSink, progress: Progress | None
) -> pa.Table:
    """Every good row of the listing (repeats included), in line order, as one table."""
    with read_errors():
        header = stream.readline().decode("utf-8-sig", errors="surrogateescape")
        layout = tsv_layout(next(tsv_reader(io.StringIO(header, newline="")), []))
        tables, line, rows = [], 2, 0
        for chunk in _chunks(stream):
            table, records = _read_chunk(chunk, line, layout, ecosystem, on_bad)
            tables.append(table)
            line += records
            rows += table.num_rows
            if progress:
                progress(rows)
    return _one_chunk(tables)


def _one_chunk(tables: list[pa.Table]) -> pa.Table:
    """The chunks' rows as one table of single-chunk columns, built a column at a time.

    Arrow's take() and sort over many chunks concatenate them first, every time; combining
    once here, dropping each column's chunks as soon as it is copied, keeps the peak near
    one copy of the rows.
    """
    columns = []
    for name in SCHEMA.names:
        chunks = [chunk for table in tables for chunk in table.column(name).chunks]
        columns.append(_concat(chunks, SCHEMA.field(name).type))
        del chunks
        tables[:] = [table.drop_columns([name]) for table in tables]  # the caller's list too
        pa.default_memory_pool().release_unused()  # else Arrow's allocator keeps the chunks
    return pa.table(columns, names=SCHEMA.names)


def _concat(chunks: list[pa.Array], kind: pa.DataType) -> pa.Array:
    """One array of the chunks; a text column of 2 GiB or more becomes ``large_string``, whose
    64-bit offsets hold it (``string`` cannot: its offsets are 32-bit)."""
    if not chunks:
        return pa.array([], kind)
    if pa.types.is_string(kind) and sum(chunk.nbytes for chunk in chunks) >= STRING_BYTES_MAX:
        chunks = [chunk.cast(pa.large_string()) for chunk in chunks]
    return pa.concat_arrays(chunks)


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    """The stream in pieces of whole lines (the last one may lack its newline)."""
    rest = b""
    while block := stream.read(CHUNK_BYTES):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        rest = block[cut:]
        if cut:
            yield block[:cut]
    if rest:
        yield rest


def _read_chunk(
    chunk: bytes, start: int, layout: TsvLayout, ecosystem: str, on_bad: BadSink
) -> tuple[pa.Table, int]:
    """The chunk's good rows and how many records (lines) it held."""
    fields = _split(chunk, layout.width)
    if fields is None:
        return _slow_chunk(chunk, start, layout, ecosystem, on_bad)
    empty = pa.repeat(pa.scalar("", pa.string()), fields.num_rows)
    name, version, summary, popularity, month = (
        fields.column(i) if i < layout.width else empty for i in layout.columns
    )
    if b"\x00" in chunk:  # a memchr: the summaries are rewritten only when one holds it
        summary = pc.replace_substring(summary, "\x00", "")  # as ``shown_summary``
    plain = _plain_rows(ecosystem, name, version, popularity, month)
    table = _plain_table(ecosystem, start, plain, name, version, summary, popularity, month)
    odd = np.flatnonzero(~plain.to_numpy(zero_copy_only=False))
    if len(odd):
        values = [
            c.take(pa.array(odd)).to_pylist() for c in (name, version, summary, popularity, month)
        ]
        staged = [
            _stage(ecosystem, make_row(start + int(i), *row), on_bad)
            for i, row in zip(odd, zip(*values, strict=True), strict=True)
        ]
        table = pa.concat_tables([table, _table([r for r in staged if r is not None])])
        table = table.sort_by("line")
    return table, fields.num_rows


def _split(chunk: bytes, width: int) -> Any:
    """The chunk's fields as string columns, or None when it is not plain lines."""
    if b"\r" in chunk or b"\n\n" in chunk or chunk.startswith(b"\n"):
        return None  # the row-by-row reader's own line and blank-line rules apply
    names = [f"f{i}" for i in range(width)]
    try:
        fields = pacsv.read_csv(
            pa.BufferReader(chunk),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=len(chunk) + 1
            ),
            parse_options=pacsv.ParseOptions(
                delimiter="\t",
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None  # a wrong field count, or bytes that are not UTF-8
    lines = chunk.count(b"\n") + (not chunk.endswith(b"\n"))
    return fields if fields.num_rows == lines else None


def _plain_rows(ecosystem: str, name: Any, version: Any, popularity: Any, month: Any) -> Any:
    """Rows that plainly pass every check of ``make_row`` (and PyPI's name rule)."""
    length = pc.utf8_length(name)
    ok = pc.and_(pc.match_substring_regex(name, _PLAIN), pc.less_equal(length, MAX_NAME_LENGTH))
    if ecosystem == "pypi":
        ok = pc.and_(ok, pc.match_substring_regex(name, _PYPI_NAME))
    for column, pattern, limit in (
        (version, _PLAIN, VERSION_MAX_LENGTH),
        (popularity, _DIGITS, 18),
        (month, _MONTH, 7),
    ):
        good = pc.and_(
            pc.match_substring_regex(column, pattern),
            pc.less_equal(pc.binary_length(column), limit),
        )
        ok = pc.and_(ok, pc.or_(pc.equal(column, ""), good))
    return ok.combine_chunks() if isinstance(ok, pa.ChunkedArray) else ok


def _plain_table(
    ecosystem: str,
    start: int,
    plain: Any,
    name: Any,
    version: Any,
    summary: Any,
    popularity: Any,
    month: Any,
) -> pa.Table:
    """The plain rows as staged: keyed, with "latest" and NULLs for what is missing."""
    lines = pa.array(np.arange(start, start + len(plain), dtype=np.int64))
    picked = [c.filter(plain) for c in (lines, name, version, summary, popularity, month)]
    lines, name, version, summary, popularity, month = picked
    if ecosystem == "pypi":  # keys.search_key, for ASCII names
        key = pc.ascii_lower(pc.replace_substring_regex(name, r"[-_.]+", "-"))
    else:
        key = pc.ascii_lower(name)
    return pa.table(
        [
            lines,
            key,
            name,
            pc.if_else(pc.equal(version, ""), "latest", version),
            _null_if_empty(summary),
            pc.cast(_null_if_empty(popularity), pa.int64()),
            _null_if_empty(month),
        ],
        schema=SCHEMA,
    )


def _null_if_empty(column: Any) -> Any:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


def _stage(ecosystem: str, item: Row | BadRow, on_bad: BadSink) -> StagedRow | None:
    staged = item if isinstance(item, BadRow) else to_staged(ecosystem, item)
    if isinstance(staged, BadRow):
        on_bad(staged)
        return None
    return staged


def _slow_chunk(
    chunk: bytes, start: int, layout: TsvLayout, ecosystem: str, on_bad: BadSink
) -> tuple[pa.Table, int]:
    """The row-by-row reader over one chunk (the same decoding and csv rules as a whole load)."""
    text = io.StringIO(chunk.decode("utf-8", errors="surrogateescape"), newline="")
    records = list(tsv_reader(text))
    staged = [_stage(ecosystem, item, on_bad) for item in tsv_items(records, layout, start)]
    return _table([r for r in staged if r is not None]), len(records)


def _table(rows: list[StagedRow]) -> pa.Table:
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in SCHEMA]
    return pa.table(
        [pa.array(c, f.type) for c, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )
