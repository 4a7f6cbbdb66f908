"""Reading the upstream's PEP 691 page for core metadata, and which stored file takes what."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pkgdex.metadata.listing import read_page, values_for
from pkgdex.metadata.upstream import UpstreamError
from support.pep691 import CORE_METADATA as HASH
from support.pep691 import WHOLE_FILE, whole_page

URL = "https://pypi.example.org/simple/a/"


def _page(*files: dict[str, Any], version: str = "1.1") -> bytes:
    return orjson.dumps({"meta": {"api-version": version}, "name": "a", "files": list(files)})


def test_reads_pep_714_and_pep_658_names() -> None:
    read = read_page(
        _page(
            {"filename": "a-1.whl", "hashes": {"sha256": "1" * 64}, "core-metadata": HASH},
            {"filename": "a-2.whl", "hashes": {}, "data-dist-info-metadata": True},
            {"filename": "a-3.tar.gz", "hashes": {"sha256": "3" * 64}, "core-metadata": False},
            {"filename": "a-4.tar.gz", "url": "u", "yanked": "why", "requires-python": ">=3"},
            {"filename": "a-5.whl", "core-metadata": {}},
        ),
        URL,
    )
    assert read.whole is None  # its files lack what the whole page needs
    assert read.listed == {
        "a-1.whl": ("1" * 64, HASH),
        "a-2.whl": (None, True),
        "a-3.tar.gz": ("3" * 64, False),
        "a-4.tar.gz": (None, False),
        "a-5.whl": (None, False),
    }


def test_hashes_at_their_longest_and_empty_core_metadata() -> None:
    longest = {"s" * 32: "a" * 256, "sha256": "0" * 64}
    page = _page(
        {"filename": "a-1.whl", "core-metadata": longest},
        {"filename": "a-2.whl", "core-metadata": {}},
        {"filename": "a-3.whl", "data-dist-info-metadata": {}},
    )
    assert read_page(page, URL).listed == {
        "a-1.whl": (None, longest),
        "a-2.whl": (None, False),
        "a-3.whl": (None, False),
    }


def test_pep_714s_name_wins_over_pep_658s() -> None:
    entry = {"filename": "a-1.whl", "core-metadata": HASH, "data-dist-info-metadata": True}
    assert read_page(_page(entry), URL).listed["a-1.whl"] == (None, HASH)


def test_a_page_with_every_field_is_read_whole() -> None:
    body = whole_page(WHOLE_FILE)
    read = read_page(body, URL, whole=True)
    assert read.body is body and read.listed == {"a-1.whl": ("1" * 64, HASH)}
    assert read.whole is not None
    assert (read.whole.name, read.whole.versions, read.whole.meta.last_serial) == ("a", ["1"], 7)
    (f,) = read.whole.files
    assert (f.url, f.size, f.upload_time, f.yanked) == (
        WHOLE_FILE["url"],
        10,
        WHOLE_FILE["upload-time"],
        False,
    )


def test_a_page_is_read_whole_only_when_asked() -> None:
    read = read_page(whole_page(WHOLE_FILE), URL)  # for core metadata alone
    assert read.whole is None and read.listed == {"a-1.whl": ("1" * 64, HASH)}


def test_nulls_keep_a_page_whole() -> None:
    nulls = {"size": None, "upload-time": None, "hashes": {}}  # written back as they are
    assert read_page(whole_page({**WHOLE_FILE, **nulls}), URL, whole=True).whole is not None


@pytest.mark.parametrize(
    "change",
    [
        {"size": -1},
        {"size": 2**63},
        {"yanked": 1},  # not a field core metadata reads: the page is still read, leniently
        {"url": ""},
        {"url": None},
        {"requires-python": 3},
        {"upload-time": 5},
    ],
)
def test_a_field_out_of_form_is_read_leniently(change: dict[str, Any]) -> None:
    read = read_page(whole_page({**WHOLE_FILE, **change}), URL, whole=True)
    assert read.whole is None
    assert read.listed == {"a-1.whl": ("1" * 64, HASH)}


@pytest.mark.parametrize("missing", ["size", "upload-time", "url", "requires-python", "yanked"])
def test_a_missing_field_reads_the_page_leniently(missing: str) -> None:
    entry = {k: v for k, v in WHOLE_FILE.items() if k != missing}
    read = read_page(whole_page(entry), URL, whole=True)
    assert read.whole is None and read.listed == {"a-1.whl": ("1" * 64, HASH)}


def test_a_page_without_its_serial_name_or_versions_is_read_leniently() -> None:
    for drop in ("name", "versions"):
        doc = orjson.loads(whole_page(WHOLE_FILE))
        del doc[drop]
        assert read_page(orjson.dumps(doc), URL, whole=True).whole is None
    doc = orjson.loads(whole_page(WHOLE_FILE))
    del doc["meta"]["_last-serial"]
    assert read_page(orjson.dumps(doc), URL, whole=True).whole is None


BAD = {
    "not json": b"<html>",
    "not an object": b"[]",
    "no meta": orjson.dumps({"files": []}),
    "no files": orjson.dumps({"meta": {"api-version": "1.0"}}),
    "version 2": _page(version="2.0"),
    "upper-case hex": _page({"filename": "a.whl", "core-metadata": {"sha256": "AB"}}),
    "a quote in a hash": _page({"filename": "a.whl", "core-metadata": {"sha256": 'a"'}}),
    "a hash name with a space": _page({"filename": "a.whl", "core-metadata": {"sha 256": "a"}}),
    "a newline in a hash": _page(
        {"filename": "a.whl", "core-metadata": {"sha256": "ab\nsha256\tcd"}}
    ),
    "an empty digest": _page({"filename": "a.whl", "core-metadata": {"sha256": ""}}),
    "a digest too long": _page({"filename": "a.whl", "core-metadata": {"sha256": "a" * 257}}),
    "an empty hash name": _page({"filename": "a.whl", "core-metadata": {"": "ab"}}),
    "a hash name too long": _page({"filename": "a.whl", "core-metadata": {"s" * 33: "ab"}}),
    "an upper-case hash name": _page({"filename": "a.whl", "core-metadata": {"SHA256": "ab"}}),
    "a newline in a hash name": _page({"filename": "a.whl", "core-metadata": {"sha\n256": "a"}}),
    "a bad hash among good ones": _page(
        *({"filename": f"a-{n}.whl", "core-metadata": HASH} for n in range(5)),
        {"filename": "b.whl", "core-metadata": {"sha256": "ab", "md5": "x"}},
    ),
    "a string": _page({"filename": "a.whl", "core-metadata": "true"}),
    "an empty name": _page({"filename": ""}),
    "a name too long": _page({"filename": "a" * 513}),
    "hashes not an object": _page({"filename": "a.whl", "hashes": ["ab"]}),
}


@pytest.mark.parametrize("body", list(BAD.values()), ids=list(BAD))
def test_anything_else_is_a_clear_502(body: bytes) -> None:
    with pytest.raises(UpstreamError) as caught:
        read_page(body, URL)
    assert caught.value.status == 502
    assert caught.value.code == "upstream_malformed"
    assert URL in caught.value.message


def test_values_for_unknown_files_by_sha256() -> None:
    listed = {
        "same.whl": ("1" * 64, HASH),
        "other-bytes.whl": ("2" * 64, HASH),
        "no-upstream-hash.whl": (None, True),
        "no-stored-hash.whl": ("4" * 64, HASH),
        "known.whl": ("5" * 64, HASH),
    }
    unknown = [
        ("same.whl", "1" * 64),
        ("other-bytes.whl", "9" * 64),
        ("no-upstream-hash.whl", "3" * 64),
        ("no-stored-hash.whl", None),
        ("unlisted.tar.gz", "6" * 64),
    ]
    assert values_for(unknown, listed) == {
        "same.whl": HASH,
        "other-bytes.whl": False,
        "no-upstream-hash.whl": True,
        "no-stored-hash.whl": HASH,
        "unlisted.tar.gz": False,
    }
