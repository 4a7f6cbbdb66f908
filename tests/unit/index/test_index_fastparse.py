"""The columnar TSV reader gives exactly the rows, lines and reasons of the row-by-row one."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from pkgdex import db
from pkgdex.index import directload, fastparse, jobs, queries, services
from pkgdex.index.sources import BadRow, open_source, read_rows

HEADER = "name\tversion\tmonth\trank_among_15000_most_downloaded\tsummary\n"
GOOD = [f"pkg-{i}\t1.{i}\t2024-0{1 + i % 9}\t{i}\tabout {i}\n" for i in range(40)]
ODD = [
    "Zope.Interface\t7.1\t2024-10\t\t\n",
    "zope_interface\t7.2\t2024-11\t\tdup\n",  # repeats the key above
    "bad name\t1\t2024-01\t\t\n",
    "ok-pop\t1\t2024-01\tfirst\t\n",
    "ok-month\t1\tJanuary\t\t\n",
    "short\t1\n",
    "too\tmany\t2024-01\t\t\t\textra\n",
    "\t1\t2024-01\t\t\n",
    "caf\u00e9\t1\t2024-01\t\tnot ASCII\n",
    "PKG-3\t9\t2024-01\t\tdup of pkg-3\n",
    "-leading\t1\t2024-01\t\t\n",
    'quoted\t"1"\t2024-01\t\t"summary" with quotes\n',
    "no-version\t\t\t\t\n",
    "big-pop\t1\t2024-01\t1234567890123456789\t\n",
    "sum-utf8\t1\t2024-01\t\tna\u00efve \u2603\n",
    "ver-space\t1 0\t2024-01\t\t\n",
    "x" * 215 + "\t1\t2024-01\t\t\n",
]


def row_by_row(path: Path, ecosystem: str) -> tuple[list[tuple[object, ...]], list[BadRow]]:
    """The general path: sources' rows, services.to_staged, first of each key wins."""
    rows: list[tuple[object, ...]] = []
    bad: list[BadRow] = []
    seen: set[str] = set()
    with open_source(str(path)) as stream:
        _, items = read_rows(stream, "tsv")
        for item in items:
            staged = item if isinstance(item, BadRow) else services.to_staged(ecosystem, item)
            if not isinstance(staged, BadRow) and staged[1] in seen:
                staged = services.duplicate_row(staged)
            if isinstance(staged, BadRow):
                bad.append(staged)
                continue
            seen.add(staged[1])
            rows.append(staged)
    return sorted(rows, key=lambda r: str(r[1])), sorted(bad)


def columnar(path: Path, ecosystem: str) -> tuple[list[tuple[object, ...]], list[BadRow]]:
    bad: list[BadRow] = []
    with open_source(str(path)) as stream:
        assert fastparse.can_read(stream, "tsv")
        table = fastparse.read_tsv(stream, ecosystem, bad.append, None)
    order = directload.first_of_each_key(table, bad.append)
    picked = table.combine_chunks().take(order).to_pylist()
    return [tuple(r.values()) for r in picked], sorted(bad)


@pytest.fixture(params=[1 << 20, 97])  # one chunk, or many (slow and fast chunks mixed)
def chunk_bytes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(fastparse, "CHUNK_BYTES", request.param)
    return int(request.param)


@pytest.mark.parametrize("ecosystem", ["pypi", "npm"])
@pytest.mark.parametrize(
    "body",
    [
        "".join(GOOD),
        "".join(GOOD[:20] + ODD + GOOD[20:]),
        "".join(GOOD[:20] + [r for r in ODD if r.count("\t") == 4] + GOOD[20:]),
        "".join(GOOD[:5]) + "\n" + "".join(GOOD[5:10]) + "\n\n",  # blank lines
        "".join(GOOD).replace("\n", "\r\n"),  # CRLF
        "".join(GOOD[:10]) + "pkg-x\t1\t2024-01\t\tcr\rinside\n" + "".join(GOOD[10:]),
        "".join(GOOD).rstrip("\n"),  # no newline at the end
    ],
    ids=["plain", "odd-rows", "odd-values", "blank-lines", "crlf", "lone-cr", "no-final-newline"],
)
def test_same_rows_and_bad_rows_as_the_row_by_row_reader(
    tmp_path: Path, chunk_bytes: int, ecosystem: str, body: str
) -> None:
    path = tmp_path / "listing.tsv.gz"
    path.write_bytes(gzip.compress((HEADER + body).encode()))
    assert columnar(path, ecosystem) == row_by_row(path, ecosystem)


def test_undecodable_bytes_and_other_layouts(tmp_path: Path, chunk_bytes: int) -> None:
    data = (
        b"name\tdownloads_a_month\tversion\n"
        + b"".join(f"n{i}\t{i}\t1.0\n".encode() for i in range(30))
        + b"caf\xe9\t1\t1\n"
        + b"sur\xed\xa0\x80\t2\t1\n"
        + b"".join(f"m{i}\t\t\n".encode() for i in range(30))
    )
    path = tmp_path / "odd.tsv"
    path.write_bytes(data)
    for ecosystem in ("npm", "pypi"):
        assert columnar(path, ecosystem) == row_by_row(path, ecosystem)


def test_a_header_only_listing_has_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.tsv"
    path.write_bytes(HEADER.encode())
    assert columnar(path, "pypi") == ([], [])


def test_only_plain_tsv_takes_the_columnar_path(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.tsv"
    crlf.write_bytes(HEADER.replace("\n", "\r\n").encode())
    csv = tmp_path / "o.csv"
    csv.write_bytes(b"No.,Package Name,Version,Official Link\n1,a,1,x\n")
    with open_source(str(crlf)) as stream:
        assert not fastparse.can_read(stream, "tsv")
    with open_source(str(csv)) as stream:
        assert not fastparse.can_read(stream, "csv")


def test_text_columns_past_the_32_bit_offsets_load_alike(
    tmp_path: Path, sqlite_url: str, chunk_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A column of 2 GiB of text or more is kept as ``large_string``: forced here from 0 bytes,
    the rows, the bad rows and the loaded index are what the general path gives."""
    path = tmp_path / "listing.tsv.gz"
    path.write_bytes(gzip.compress((HEADER + "".join(GOOD[:20] + ODD + GOOD[20:])).encode()))
    expected = row_by_row(path, "pypi")
    monkeypatch.setattr(fastparse, "STRING_BYTES_MAX", 0)
    assert columnar(path, "pypi") == expected
    engine = db.make_engine(sqlite_url)
    try:
        report = jobs.load_index(engine, "pypi", str(path))
        with engine.connect() as conn:
            names = [hit.name for hit in queries.search(conn, "pypi", "zope.interface", 5)]
            browsed = queries.browse(conn, "pypi", 1, 500)
    finally:
        engine.dispose()
    assert report.loaded == len(expected[0])
    assert report.bad_rows == len(expected[1])
    assert [line for line, _ in report.bad_examples] == [bad.line for bad in expected[1]][:5]
    assert names == ["Zope.Interface"]
    assert [row.no for row in browsed] == list(range(1, len(expected[0]) + 1))
