"""Bad input: whole files that cannot be read fail clearly; bad lines are counted, not fatal."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pkgdex.downloads import ingest
from support.download_rows import generate_rows, make_row, write_ndjson

DAY = date(2026, 9, 1)


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    path = ingest.scratch_directory(str(tmp_path))
    yield path
    ingest.remove_scratch(path)


def lines(*rows: object) -> bytes:
    return b"".join(
        (row if isinstance(row, bytes) else json.dumps(row).encode()) + b"\n" for row in rows
    )


def test_truncated_gzip_fails_naming_the_file(tmp_path: Path, scratch: Path) -> None:
    good = write_ndjson(generate_rows(days=2), tmp_path / "whole.ndjson.gz")
    broken = tmp_path / "cut.ndjson.gz"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ingest.IngestError, match=r"cut\.ndjson\.gz.*(GZIP|gzip|end)"):
        ingest.aggregate_files([good, broken], scratch)


def test_truncated_gzip_with_bad_lines_also_fails(tmp_path: Path, scratch: Path) -> None:
    data = gzip.compress(lines(b"not json", *(make_row("p", DAY) for _ in range(2000))))
    broken = tmp_path / "cut.ndjson.gz"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ingest.IngestError, match=r"cut\.ndjson\.gz"):
        ingest.aggregate_files([broken], scratch)


def test_non_json_lines_are_counted_with_their_line_numbers(
    tmp_path: Path, scratch: Path
) -> None:
    path = tmp_path / "mixed.ndjson"
    path.write_bytes(
        lines(make_row("p", DAY), b"{not json", b"[1, 2]", make_row("p", DAY), b'"text"')
    )
    aggregation = ingest.aggregate_files([path], scratch)
    assert aggregation.rejected == {None: {"malformed_json": 3}}
    assert aggregation.rows_read == {DAY: 2, None: 3}
    assert f"{path} line 2: malformed json" in aggregation.problems
    assert f"{path} line 5: malformed json" in aggregation.problems
    aggregation.connection.close()


def test_wrong_types_are_rejected_not_cast(tmp_path: Path, scratch: Path) -> None:
    stamp = make_row("p", DAY)["timestamp"]
    path = tmp_path / "types.ndjson.gz"
    path.write_bytes(
        gzip.compress(
            lines(
                {"timestamp": stamp, "project": "p", "details": "linux"},  # not a record
                {"timestamp": stamp, "project": "p", "details": {"ci": "yes"}},
                {"timestamp": stamp, "project": ["p"], "details": {}},
                {"timestamp": stamp, "project": "p", "details": {"python": 3.8}},
                {"timestamp": 1_725_000_000, "project": "p"},
                make_row("p", DAY),
            )
        )
    )
    aggregation = ingest.aggregate_files([path], scratch)
    assert aggregation.rejected == {
        DAY: {"wrong_type": 4},
        None: {"invalid_timestamp": 1},
    }
    assert aggregation.days == [DAY]
    assert any("line 1: wrong type" in problem for problem in aggregation.problems)
    aggregation.connection.close()


def test_empty_file_is_reported(tmp_path: Path, scratch: Path) -> None:
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    empty_gz = tmp_path / "empty.json.gz"
    empty_gz.write_bytes(gzip.compress(b""))
    good = write_ndjson([make_row("p", DAY)], tmp_path / "good.ndjson")
    aggregation = ingest.aggregate_files([empty, empty_gz, good], scratch)
    assert aggregation.problems == [f"{empty}: no rows", f"{empty_gz}: no rows"]
    assert aggregation.days == [DAY]
    aggregation.connection.close()


def test_parquet_with_other_columns_names_what_is_missing(
    tmp_path: Path, scratch: Path
) -> None:
    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"name": ["a"], "downloads": [3]}), path)
    with pytest.raises(ingest.IngestError, match=r"other\.parquet.*timestamp.*details\.python"):
        ingest.aggregate_files([path], scratch)


def test_parquet_with_a_wrong_timestamp_type(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "ints.parquet"
    details = pa.array(
        [{"python": "3.9", "installer": {"name": "pip"}, "system": {"name": "Linux"},
          "ci": False}]
    )
    table = pa.table(
        {"timestamp": [1], "project": ["p"], "file": [{"version": "1"}], "details": details}
    )
    pq.write_table(table, path)
    with pytest.raises(ingest.IngestError, match="timestamp has type int64"):
        ingest.aggregate_files([path], scratch)


def test_a_file_that_is_not_parquet(tmp_path: Path, scratch: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("hello")
    with pytest.raises(ingest.IngestError, match=r"fake\.parquet: not a readable Parquet"):
        ingest.aggregate_files([path], scratch)


def test_bad_lines_in_one_of_several_files(tmp_path: Path, scratch: Path) -> None:
    good = write_ndjson([make_row("p", DAY)] * 3, tmp_path / "good.ndjson.gz")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(lines(make_row("p", DAY), b"\x00garbage"))
    aggregation = ingest.aggregate_files([good, mixed], scratch)
    assert aggregation.rows_read == {DAY: 4, None: 1}
    assert aggregation.rejected == {None: {"malformed_json": 1}}
    assert aggregation.problems == [f"{mixed} line 2: malformed json"]
    aggregation.connection.close()


def test_parquet_with_text_timestamps_and_only_file_project(
    tmp_path: Path, scratch: Path
) -> None:
    path = tmp_path / "flat.parquet"
    details = {"python": "3.9.1", "installer": {"name": "pip"}, "system": {"name": "Linux"},
               "ci": None}
    table = pa.table(
        {
            "timestamp": ["2026-09-01 10:00:00 UTC", "not a time", None],
            "file": [{"project": "Py_Yaml", "version": "6.0"}] * 3,
            "details": [details] * 3,
        }
    )
    pq.write_table(table, path)
    aggregation = ingest.aggregate_files([path], scratch)
    assert aggregation.rejected == {None: {"invalid_timestamp": 1, "missing_timestamp": 1}}
    rows = [row for batch in aggregation.daily_rows() for row in batch]
    assert ("py-yaml", "python_minor", "2026-09-01", "3.9", 0, 1) in rows
    aggregation.connection.close()
