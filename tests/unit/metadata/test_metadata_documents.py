"""Checking PyPI JSON documents before anything is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from pkgdex.metadata.documents import MalformedDocumentError, looks_like_pypi, parse_document
from support.fake_pypi import standard_projects


def sample() -> dict[str, Any]:
    return standard_projects()[0].doc()


def _first(data: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = data["releases"]["1.0.0"][0]
    return first


def test_a_project_document() -> None:
    doc = parse_document(sample(), expected_name="sampleproject")
    assert doc.is_project
    assert doc.info.version == "3.0.0"
    assert doc.info_raw == sample()["info"]
    files = doc.releases["2.0.0"]  # type: ignore[index]
    assert len(files) == 3
    assert files[0].uploaded_utc() == datetime(2020, 1, 3, 12, 0, 2, 14)  # cp32 wheel, +2 s


def test_a_release_document() -> None:
    doc = parse_document(standard_projects()[0].version_doc("1.0.0"))
    assert not doc.is_project
    assert doc.canonical_name == "sampleproject"


def test_upload_time_without_zone_is_utc() -> None:
    data = sample()
    for files in data["releases"].values():
        for f in files:
            del f["upload_time_iso_8601"]
    doc = parse_document(data)
    assert doc.releases["1.0.0"][0].uploaded_utc() == datetime(2020, 1, 2, 12, 0, 1)  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("info"), "info"),
        (lambda d: d["info"].pop("version"), "info.version"),
        (lambda d: d["info"].update(name=""), "info.name"),
        (lambda d: d.update(last_serial=-1), "last_serial"),
        (lambda d: d.update(last_serial=2**63), "last_serial"),  # past the store's column
        (lambda d: d["releases"]["1.0.0"][0].update(size=2**63), "size"),
        (lambda d: _first(d).update(upload_time_iso_8601="0001-01-01T00:00:00+23:59"), "in UTC"),
        (lambda d: _first(d).update(upload_time="9999-12-31T23:59:59-23:59"), "in UTC"),
        (lambda d: d.update(releases=[]), "releases"),
        (lambda d: d["releases"]["1.0.0"][0].update(size="big"), "size"),
        (lambda d: d["releases"]["1.0.0"][0].pop("url"), "url"),
        (lambda d: d["releases"]["1.0.0"][0].update(upload_time_iso_8601="yesterday"), "upload"),
        (lambda d: d["releases"].update({"x" * 300: []}), "version"),
        # No PostgreSQL text column holds a NUL: refused on every database alike.
        (lambda d: _first(d).update(comment_text="a\x00b"), "comment_text: holds a NUL"),
        (lambda d: _first(d)["digests"].update(sha256="\x00"), "sha256: holds a NUL"),
        (lambda d: d["releases"].update({"9\x00": []}), "holds a NUL"),
        (lambda d: d["info"].update(summary="\x00"), "info.summary: holds a NUL"),
        (lambda d: d["info"].update(requires_python=">=3\x00"), "requires_python: holds a NUL"),
        (lambda d: d["urls"][0].update(url="https://f.example/\x00"), "urls.0.url: holds a NUL"),
        (
            lambda d: _first(d).update(core_metadata={"sha256": "\x00"}),
            "releases.1.0.0.0.core_metadata.sha256: holds a NUL",
        ),
        (lambda d: _first(d)["digests"].update(blake2b_256="a" * 65), "blake2b_256 is longer"),
        (lambda d: _first(d).update(md5_digest="a" * 33), "md5_digest"),
    ],
)
def test_malformed_documents_are_refused(change: Any, message: str) -> None:
    data = sample()
    change(data)
    with pytest.raises(MalformedDocumentError, match=message):
        parse_document(data)


def test_a_nul_in_info_stored_as_json_is_kept() -> None:
    data = sample()
    data["info"]["description"] = "text\x00"
    assert parse_document(data).info_raw["description"] == "text\x00"


def test_a_document_for_another_name_is_refused() -> None:
    with pytest.raises(MalformedDocumentError, match="asked for"):
        parse_document(sample(), expected_name="other")


def test_not_an_object() -> None:
    with pytest.raises(MalformedDocumentError):
        parse_document([1, 2])


def test_pypi_documents_are_told_from_packuments() -> None:
    assert looks_like_pypi(sample())
    assert not looks_like_pypi({"name": "left-pad", "versions": {}})
    assert not looks_like_pypi([])
