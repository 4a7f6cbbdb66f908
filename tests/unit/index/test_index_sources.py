"""Reading index sources: every format, gzip, URLs, and each way a source can be broken."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pytest

from pkgdex.index.sources import BadRow, Row, SourceError, open_source, read_rows
from support.fake_registry import FakeRegistry, serve_registry

TSV = (
    "name\tversion\tmonth\trank_among_15000_most_downloaded\tsummary\n"
    "requests\t2.32.3\t2024-05\t4\tHTTP for Humans.\n"
    "zope.interface\t7.1\t2024-10\t\t\n"
)
CSV = (
    "No.,Package Name,Version,Official Link\n"
    "1,react,18.3.1,https://www.npmjs.com/package/react\n"
    "2,left-pad,,https://www.npmjs.com/package/left-pad\n"
)


def read(path: Path, fmt: str | None = None) -> tuple[str, list[Row | BadRow]]:
    with open_source(str(path)) as stream:
        detected, items = read_rows(stream, fmt)
        return detected, list(items)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_tsv_listing_with_popularity_and_month(tmp_path: Path) -> None:
    fmt, rows = read(write(tmp_path, "p.tsv", TSV.encode()))
    assert fmt == "tsv"
    assert rows == [
        Row(2, "requests", "2.32.3", "HTTP for Humans.", 4, "2024-05"),
        Row(3, "zope.interface", "7.1", None, None, "2024-10"),
    ]


def test_npm_tsv_reads_downloads_as_popularity(tmp_path: Path) -> None:
    data = b"name\tversion\tdownloads_a_month\tsummary\n@types/node\t22.0.0\t123456\tTypes\n"
    _, rows = read(write(tmp_path, "n.tsv", data))
    assert rows == [Row(2, "@types/node", "22.0.0", "Types", 123456, None)]


def test_osma_csv_gives_latest_when_version_is_missing(tmp_path: Path) -> None:
    fmt, rows = read(write(tmp_path, "o.csv", CSV.encode()))
    assert fmt == "csv"
    assert [(r.name, r.version) for r in rows if isinstance(r, Row)] == [
        ("react", "18.3.1"),
        ("left-pad", "latest"),
    ]


def test_json_array_of_names(tmp_path: Path) -> None:
    fmt, rows = read(write(tmp_path, "n.json", orjson.dumps(["a", "b", 3, "c d"])))
    assert fmt == "json-names"
    assert rows[:2] == [
        Row(1, "a", "latest", None, None, None),
        Row(2, "b", "latest", None, None, None),
    ]
    assert [(r.line, type(r)) for r in rows[2:]] == [(3, BadRow), (4, BadRow)]


def test_pep691_index(tmp_path: Path) -> None:
    document = {"meta": {"api-version": "1.1"}, "projects": [{"name": "Flask"}, {"x": 1}]}
    fmt, rows = read(write(tmp_path, "s.json", orjson.dumps(document)))
    assert fmt == "pep691"
    assert rows[0] == Row(1, "Flask", "latest", None, None, None)
    assert rows[1] == BadRow(2, "project without a string 'name'")


def test_gzip_is_read_transparently_whatever_the_file_is_called(tmp_path: Path) -> None:
    fmt, rows = read(write(tmp_path, "listing.data", gzip.compress(TSV.encode())))
    assert fmt == "tsv" and len(rows) == 2


def test_explicit_format_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "x", b"name\tversion\nfoo\t1\n")
    with pytest.raises(SourceError, match="CSV header"):
        read(path, "csv")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("bad name\t1\t2024-01\t\t", "invalid package name"),
        ("ok\t1\t2024-01\tfirst\t", "popularity is not a whole number"),
        ("ok\t1\tJanuary\t\t", "month is not YYYY-MM"),
        ("ok\t1\t2024-01", "expected 5 fields, got 3"),
        ("ok\t1\t2024-01\t\t\textra", "expected 5 fields, got 6"),
        ("\t1\t2024-01\t\t", "invalid package name"),
    ],
)
def test_broken_rows_are_reported_with_their_line(tmp_path: Path, line: str, reason: str) -> None:
    header, good = TSV.splitlines()[:2]
    data = "\n".join([header, good, line, good.replace("requests", "after")]) + "\n"
    _, rows = read(write(tmp_path, "b.tsv", data.encode()))
    assert [r.name for r in rows if isinstance(r, Row)] == ["requests", "after"]
    [bad] = [r for r in rows if isinstance(r, BadRow)]
    assert bad.line == 3 and reason in bad.reason


def test_undecodable_bytes_make_a_bad_row_not_a_failed_load(tmp_path: Path) -> None:
    data = TSV.encode() + b"caf\xe9\t1\t2024-01\t\t\n" + b"ok\t1\t2024-01\t\tsum \xff\n"
    _, rows = read(write(tmp_path, "u.tsv", data))
    assert [(r.line, type(r)) for r in rows[2:]] == [(4, BadRow), (5, BadRow)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"No.,Name,Version\n1,a,1\n", "CSV header"),
        (b"package\tversion\nfoo\t1\n", "'name' column"),
        (b"hello world\n", "cannot tell the format"),
        (b"[1, 2", "not valid JSON"),
        (b'{"projects": 3}', "PEP 691"),
    ],
)
def test_unusable_sources_raise_a_clear_error(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        read(write(tmp_path, "bad", data))


def test_truncated_gzip_is_a_source_error(tmp_path: Path) -> None:
    packed = gzip.compress((TSV * 2000).encode())
    with pytest.raises(SourceError, match="truncated or corrupt"):
        read(write(tmp_path, "t.tsv.gz", packed[: len(packed) // 2]))


def test_corrupt_gzip_is_a_source_error(tmp_path: Path) -> None:
    packed = bytearray(gzip.compress((TSV * 50).encode()))
    packed[30:60] = b"\x00" * 30
    with pytest.raises(SourceError):
        read(write(tmp_path, "c.tsv.gz", bytes(packed)))


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read(tmp_path / "nope.tsv")
    with pytest.raises(SourceError, match="unknown format"):
        read(write(tmp_path, "x.tsv", TSV.encode()), "xml")


def test_url_source_is_streamed_and_gunzipped() -> None:
    registry = FakeRegistry(files={"p.tsv.gz": gzip.compress(TSV.encode())})
    with serve_registry(registry) as reg, open_source(f"{reg.url}/files/p.tsv.gz") as stream:
        fmt, items = read_rows(stream, None)
        assert fmt == "tsv" and len(list(items)) == 2


def test_url_source_http_errors_are_source_errors() -> None:
    with (
        serve_registry() as reg,
        pytest.raises(SourceError, match="HTTP 404"),
        open_source(f"{reg.url}/files/missing.tsv"),
    ):
        pass
    with pytest.raises(SourceError), open_source("http://127.0.0.1:9/nothing-listens-here"):
        pass
