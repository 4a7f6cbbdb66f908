"""The typed decode of an upstream packument body: it accepts and refuses what the parse-then-
check path does, derives the same fields, and encodes the same install-v1 document."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pkgdex.npmregistry import decoded, parts
from pkgdex.npmregistry.cards import search_card
from pkgdex.npmregistry.documents import Documents
from pkgdex.npmregistry.packument import (
    InvalidPackumentError,
    check_packument,
    latest_version,
    modified,
    summary,
)
from pkgdex.npmregistry.render import abbreviate, abbreviate_version
from support.fake_npm import standard_packuments


def doc(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "left-pad",
        "dist-tags": {"latest": "1.1.0", "beta": "2.0.0-beta.1"},
        "versions": {
            "1.0.0": {"name": "left-pad", "version": "1.0.0", "dist": {"shasum": "ab"}},
            "1.1.0": {"name": "left-pad", "version": "1.1.0", "description": "pads\nmore"},
            "2.0.0-beta.1": {"name": "left-pad", "bin": {"pad": "cli.js"}, "gitHead": "x"},
        },
        "time": {"created": "2016-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z"},
        "readme": "# left-pad",
    }
    base.update(fields)
    return base


def fixtures() -> list[dict[str, Any]]:
    nul = doc(name="nul-described", description="Pads\x00 strings\nmore", readme="\x00")
    return [*standard_packuments("http://127.0.0.1:1"), doc(), doc(time={}, description=5), nul]


@pytest.mark.parametrize("install_v1", [True, False])
@pytest.mark.parametrize("packument", fixtures(), ids=lambda p: p["name"])
def test_install_v1_and_derived_fields_match_the_parsed_path(
    packument: dict[str, Any], install_v1: bool
) -> None:
    body = orjson.dumps(packument)
    got = decoded.decode(body, packument["name"], install_v1=install_v1)
    assert orjson.loads(got.abbreviated()) == abbreviate(packument)
    assert got.latest == latest_version(packument)
    assert got.modified == modified(packument)
    assert got.summary == summary(packument)
    assert not got.unpublished


def test_install_scripts_and_null_fields_survive_abbreviation() -> None:
    packument = doc()
    manifest = packument["versions"]["1.0.0"]
    manifest.update(scripts={"postinstall": "x"}, deprecated=None, hasInstallScript=False)
    packument["versions"]["1.1.0"]["scripts"] = "not an object"
    packument["versions"]["2.0.0-beta.1"]["scripts"] = {"install": "", "preinstall": None}
    corgi = orjson.loads(decoded.decode(orjson.dumps(packument)).abbreviated())
    assert corgi == abbreviate(packument)
    assert corgi["versions"]["1.0.0"]["hasInstallScript"] is True
    assert corgi["versions"]["1.0.0"]["deprecated"] is None
    assert "hasInstallScript" not in corgi["versions"]["2.0.0-beta.1"]  # empty scripts run nothing


@pytest.mark.parametrize("install_v1", [True, False])
@pytest.mark.parametrize(
    "bad",
    [
        ["not", "an", "object"],
        {"versions": {}},
        doc(name="has space"),
        doc(name=7),
        doc(versions=[]),
        doc(versions={"1.0.0": "text"}),
        doc(**{"dist-tags": {"latest": 1}}),
        doc(time="yesterday"),
        doc(time={"modified": 5}),
        doc(versions={"1.0.0": {"version": "2.0.0"}}),
        doc(versions={"1.0.0": {"version": None}}),
        # Stored in columns of their own, where PostgreSQL holds no NUL.
        doc(**{"dist-tags": {"latest": "1.0\x00"}}, versions={"1.0\x00": {}}),
        doc(time={"modified": "2020\x00"}),
        doc(time={"created": "2016\x00"}),
        doc(**{"dist-tags": {"latest": "1." + "0" * 300}}, versions={"1." + "0" * 300: {}}),
        doc(time={"modified": "2020-" + "0" * 60}),
    ],
)
def test_refusals_give_the_checks_reason(bad: Any, install_v1: bool) -> None:
    with pytest.raises(InvalidPackumentError) as expected:
        check_packument(bad)
    with pytest.raises(InvalidPackumentError) as got:
        decoded.decode(orjson.dumps(bad), install_v1=install_v1)
    assert str(got.value) == str(expected.value)


def test_a_body_for_another_name_is_refused() -> None:
    with pytest.raises(InvalidPackumentError, match="got the packument of 'left-pad'"):
        decoded.decode(orjson.dumps(doc()), "right-pad")


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b'{"name": "left-pad"} trailing',
        b'{"name": "left-pad", "readme": "\xff\xfe"}',  # not UTF-8, in a skipped field
        b'{"name": "left-pad", "versions": {"1.0.0": {"dist": "\xc3"}}}',  # in a kept one
        b'{"name": "left-pad", "readme": "\\ud800"}',  # a lone surrogate
    ],
)
def test_bodies_that_are_not_json_are_malformed(body: bytes) -> None:
    with pytest.raises(decoded.MalformedBodyError):
        decoded.decode(body)


def test_unpublished_body() -> None:
    gone = {"name": "gone", "time": {"unpublished": {"time": "2020-01-01T00:00:00.000Z"}}}
    assert decoded.decode(orjson.dumps(gone)).unpublished


def test_documents_keep_the_upstream_body_as_it_came() -> None:
    body = orjson.dumps(doc(), option=orjson.OPT_INDENT_2)
    documents = Documents(body, decoded.decode(body))
    assert documents.full is body
    documents.finish()
    assert orjson.loads(documents.card)["description"] == "pads\nmore"  # whole, as npm shows it
    assert orjson.loads(documents.abbreviated) == abbreviate(doc())


def test_a_number_beyond_a_double_is_kept_as_json() -> None:
    # Checked as JSON and kept as it came: only a part decoded to Python values refuses it.
    body = orjson.dumps(doc())[:-1] + b', "size": 1e400}'
    documents = Documents(body, decoded.decode(body))
    documents.finish()
    assert orjson.loads(documents.abbreviated)["name"] == "left-pad"
    assert orjson.loads(documents.card)["description"] == "pads\nmore"  # whole, as npm shows it
    body = orjson.dumps(doc())[:-1] + b', "keywords": [1e400]}'
    documents = Documents(body, decoded.decode(body))
    with pytest.raises(InvalidPackumentError, match="out of range"):
        documents.finish()  # the search card decodes its fields: never stored


@pytest.mark.parametrize("packument", fixtures(), ids=lambda p: p["name"])
def test_versions_and_cards_read_from_the_stored_json(packument: dict[str, Any]) -> None:
    body = orjson.dumps(packument)
    for version, manifest in packument["versions"].items():
        got = parts.version_json(body, version)
        assert got is not None and orjson.loads(got.json) == manifest and not got.by_range
        assert orjson.loads(decoded.abbreviated_version(got.json)) == abbreviate_version(manifest)
    for tag, version in packument["dist-tags"].items():
        assert parts.version_json(body, tag) == parts.version_json(body, version)
    assert parts.version_json(body, "0.0.0-absent") is None
    assert search_card(parts.card_source(body)) == search_card(packument)


def test_a_version_whose_scripts_cannot_decode_is_refused() -> None:
    manifest = b'{"version": "1.0.0", "scripts": {"install": 1e400}}'
    with pytest.raises(InvalidPackumentError, match="out of range"):
        decoded.abbreviated_version(manifest)


def test_scripts_with_a_number_beyond_a_double_refuse_the_install_v1_form() -> None:
    packument = doc()
    packument["versions"]["1.0.0"]["scripts"] = {"install": 0.5}
    body = orjson.dumps(packument).replace(b'"install":0.5', b'"install":1e400')
    checked = decoded.decode(body)  # a full answer: the scripts are skipped over
    with pytest.raises(InvalidPackumentError, match="out of range"):
        checked.abbreviated()
    with pytest.raises(decoded.MalformedBodyError):
        decoded.decode(body, install_v1=True)


@pytest.mark.parametrize(
    ("spec", "newest"),
    [
        ("^1.0.0", "1.5.0"),
        ("*", "1.5.0"),  # the pre-release of 2.0.0 only for a range that names one
        ("^2.0.0-beta.0", "2.0.0-beta.2"),
        ("<1.0.0", None),
        ("=1.0.0", "1.0.0"),
        ("||", "1.5.0"),  # node-semver reads an empty alternative as any version
        ("junk", None),
        ("9" * 257, None),  # past node-semver's limit: not parsed at all
    ],
)
def test_newest_satisfying_passes_over_versions_that_are_not_semver(
    spec: str, newest: str | None
) -> None:
    versions = ["1.0.0", "junk", "", "1.0.0.0", "1.5.0", "2.0.0-beta.2", "9" * 5000 + ".0.0"]
    assert parts.newest_satisfying(versions, spec) == newest
