"""What pkgdex accepts as an npm package name and as a packument, and what it derives."""

from __future__ import annotations

from typing import Any

import pytest

from pkgdex.npmregistry.packument import (
    InvalidPackumentError,
    check_packument,
    is_unpublished,
    latest_version,
    modified,
    resolve_version,
    summary,
    valid_name,
)


def doc(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "left-pad",
        "dist-tags": {"latest": "1.1.0", "beta": "2.0.0-beta.1"},
        "versions": {
            "1.0.0": {"name": "left-pad", "version": "1.0.0"},
            "1.1.0": {"name": "left-pad", "version": "1.1.0", "description": "pads\nmore"},
            "2.0.0-beta.1": {"name": "left-pad", "version": "2.0.0-beta.1"},
        },
        "time": {"created": "2016-01-01T00:00:00.000Z", "modified": "2020-01-01T00:00:00.000Z"},
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    "name",
    ["left-pad", "@types/node", "@babel/core", "JSONStream", "lodash.get", "a", "x" * 214,
     "@scope/a.b_c-d", "-", "create-react-app", "really~tilde"],
)  # fmt: skip
def test_valid_names(name: str) -> None:
    assert valid_name(name)


@pytest.mark.parametrize(
    "name",
    ["", ".hidden", "_private", "has space", "a/b", "@scope", "@scope/", "@/name", "x" * 215,
     "@scope/name/extra", "quote\"", "new\nline", "back\\slash", "per%cent"],
)  # fmt: skip
def test_invalid_names(name: str) -> None:
    assert not valid_name(name)


def test_a_good_packument_is_returned_as_it_is() -> None:
    good = doc()
    assert check_packument(good, "left-pad") is good


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["not", "an", "object"], "must be a JSON object"),
        ({"versions": {}}, "no valid name"),
        (doc(name="has space"), "no valid name"),
        (doc(versions=[]), "versions must be an object"),
        (doc(versions={"1.0.0": "text"}), "versions must map to dict values"),
        (doc(**{"dist-tags": {"latest": 1}}), "dist-tags must map to str values"),
        (doc(time="yesterday"), "time must be an object"),
        (doc(time={"modified": 5}), "time must map to str or dict values"),
        (doc(versions={"1.0.0": {"version": "2.0.0"}}), "says it is another version"),
    ],
)
def test_bad_packuments_are_refused_with_a_reason(bad: Any, message: str) -> None:
    with pytest.raises(InvalidPackumentError, match=message):
        check_packument(bad)


def test_a_packument_for_another_name_is_refused() -> None:
    with pytest.raises(InvalidPackumentError, match="got the packument of 'left-pad'"):
        check_packument(doc(), "right-pad")


def test_derived_fields() -> None:
    assert latest_version(doc()) == "1.1.0"
    assert latest_version(doc(**{"dist-tags": {"latest": "9.9.9"}})) is None
    assert summary(doc()) == "pads"  # from the latest version, first line only
    assert summary(doc(description="  Top level  ")) == "Top level"
    assert summary(doc(**{"dist-tags": {}})) == ""
    assert summary(doc(description="\x00Pads\x00 strings\n\x00")) == "Pads strings"
    assert summary(doc(description="\x00")) == ""
    assert modified(doc()) == "2020-01-01T00:00:00.000Z"
    assert modified(doc(time={"created": "2016-01-01T00:00:00.000Z"})) == "2016-01-01T00:00:00.000Z"
    assert modified(doc(time={})) is None


def test_resolve_version_by_number_or_tag() -> None:
    assert resolve_version(doc(), "1.0.0") == {"name": "left-pad", "version": "1.0.0"}
    assert resolve_version(doc(), "beta")["version"] == "2.0.0-beta.1"  # type: ignore[index]
    assert resolve_version(doc(), "latest")["version"] == "1.1.0"  # type: ignore[index]
    assert resolve_version(doc(), "3.0.0") is None
    assert resolve_version(doc(**{"dist-tags": {"gone": "7.0.0"}}), "gone") is None


def test_unpublished_packument() -> None:
    gone = {
        "_id": "gone",
        "name": "gone",
        "time": {
            "created": "2016-01-01T00:00:00.000Z",
            "modified": "2020-01-01T00:00:00.000Z",
            "unpublished": {"time": "2020-01-01T00:00:00.000Z", "versions": ["1.0.0"]},
        },
    }
    assert check_packument(gone) is gone
    assert is_unpublished(gone)
    assert not is_unpublished(doc())
