"""PEP 440 ordering and pypi.org's choices of the release a project page describes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import InvalidVersion, Version

from pkgdex.metadata import versions
from pkgdex.metadata.versions import (
    find_version,
    is_prerelease,
    newest_first,
    oldest_first,
    order_key,
    pep440_key,
    pick_latest,
    pick_latest_stable,
    pick_latest_unstable,
    pick_latest_version,
    sort_keys,
)
from support.fake_pypi import ReleaseSpec
from support.fake_pypi import pick_latest as fake_pick_latest

VECTORS = Path(__file__).resolve().parents[4] / "shared/testdata/version-ordering/pypi-versions.txt"


@dataclass(frozen=True)
class R:
    version: str
    yanked: bool = False


def _vectors() -> list[tuple[str, str, str]]:
    if not VECTORS.exists():
        pytest.skip(f"{VECTORS} is not present")
    lines = VECTORS.read_text().splitlines()
    return [tuple(line.split()) for line in lines if line.strip() and not line.startswith("//")]  # type: ignore[misc]


def test_ordering_vectors() -> None:
    for left, op, right in _vectors():
        a, b = order_key(left)[:2], order_key(right)[:2]
        if op == "=":
            assert a == b, (left, right)
        elif op == "<":
            assert [r.version for r in newest_first([R(left), R(right)])] == [right, left]
        else:
            assert [r.version for r in newest_first([R(left), R(right)])] == [left, right]


def test_invalid_versions_sort_below_valid_ones() -> None:
    releases = [R("1.0"), R("banana"), R("0.1")]
    assert [r.version for r in newest_first(releases)] == ["1.0", "0.1", "banana"]
    assert is_prerelease("banana") is False  # as warehouse's is_prerelease for them
    assert is_prerelease("1.0rc1") is True
    assert is_prerelease("1.0.dev3") is True
    assert is_prerelease("1.0.post1") is False


def test_pick_latest_prefers_final_then_pre_then_yanked() -> None:
    assert pick_latest([R("1.0"), R("2.0b1"), R("1.5", yanked=True)]) == R("1.0")
    assert pick_latest([R("1.0a1"), R("1.0b1"), R("0.9", yanked=True)]) == R("1.0b1")
    assert pick_latest([R("1.0", yanked=True), R("2.0a1", yanked=True)]) == R("1.0", True)
    # A legacy version counts as a final release (below every valid final), as on pypi.org.
    assert pick_latest([R("banana"), R("0.1a1")]) == R("banana")
    assert pick_latest([R("banana"), R("0.1a1"), R("0.1")]) == R("0.1")
    assert pick_latest([R("banana", yanked=True), R("0.1a1")]) == R("0.1a1")
    assert pick_latest([]) is None


# Versions of old uploads that are not PEP 440, in warehouse's _pypi_ordering (oldest first):
# packaging_legacy's scheme, where numbers compare as numbers ("1.9" before "1.10"), and a
# pre-release word before the final.
LEGACY_ORDER = ["json", "0.1.dev-r5", "1.0-beta-x", "1.0-final-x", "1.9-snapshot", "1.10-snapshot"]


def test_legacy_versions_order_as_on_pypi() -> None:
    legacy = LEGACY_ORDER
    assert all(order_key(v)[0] == 0 for v in legacy)  # none is PEP 440
    releases = [R(v) for v in ["0.0.1", *reversed(legacy)]]
    expected = ["0.0.1", *reversed(legacy)]  # any valid version above every legacy one
    assert [r.version for r in newest_first(releases)] == expected
    only_legacy = dict.fromkeys(legacy, False)
    assert pick_latest_version(only_legacy) == "1.10-snapshot"
    assert pick_latest_unstable([R(v) for v in legacy]) == R("1.10-snapshot")
    assert pick_latest_stable([R(v) for v in [*legacy, "2.0rc1"]]) == R("1.10-snapshot")


def test_pick_latest_version_picks_as_pick_latest_does() -> None:
    assert pick_latest_version({"1.0": False, "2.0b1": False, "1.5": True}) == "1.0"
    assert pick_latest_version({"1.0a1": False, "1.0b1": False, "0.9": True}) == "1.0b1"
    assert pick_latest_version({"1.0": True, "2.0a1": True}) == "1.0"
    assert pick_latest_version({"banana": False, "0.1a1": False}) == "banana"
    assert pick_latest_version({"banana": True, "0.1a1": False}) == "0.1a1"
    assert pick_latest_version({"banana": False, "0.1a1": True}) == "banana"
    assert pick_latest_version({}) is None


def test_latest_stable_and_unstable() -> None:
    releases = [R("1.0"), R("2.0", yanked=True), R("3.0rc1")]
    assert pick_latest_stable(releases) == R("1.0")
    assert pick_latest_unstable(releases) == R("3.0rc1")
    assert pick_latest_stable([R("1.0a1")]) is None
    assert pick_latest_stable([R("1.0", yanked=True)]) == R("1.0", True)


def test_find_version_in_normalised_form() -> None:
    releases = [R("3.0.0"), R("1.0.post1"), R("2.0")]
    assert find_version(releases, "3.0") == R("3.0.0")
    assert find_version(releases, "3") == R("3.0.0")
    assert find_version(releases, "1.0-1") == R("1.0.post1")
    assert find_version(releases, "V2.0") == R("2.0")
    assert find_version(releases, "4.0") is None


def test_find_version_with_duplicates_needs_the_exact_spelling() -> None:
    releases = [R("1.0"), R("1.0.0")]
    assert find_version(releases, "1.0.0") == R("1.0.0")
    assert find_version(releases, "1.0") == R("1.0")
    assert find_version(releases, "1") is None


_VERSIONS = st.from_regex(
    r"\A([1-9]!)?(0|[1-9][0-9]{0,2})(\.(0|[1-9][0-9]{0,2})){0,3}"
    r"((a|b|rc)[0-9]{1,2})?(\.post[0-9]{1,2})?(\.dev[0-9]{1,2})?(\+[a-z0-9]{1,3}(\.[a-z0-9]{1,3}){0,2})?\Z"
)


@given(st.lists(_VERSIONS, min_size=2, max_size=8))
def test_pep440_key_orders_as_packaging_does(versions: list[str]) -> None:
    parsed = [Version(v) for v in versions]
    for a in parsed:
        for b in parsed:
            assert (a < b) == (pep440_key(a) < pep440_key(b)), (a, b)
            assert (a == b) == (pep440_key(a) == pep440_key(b)), (a, b)


def test_pep440_key_on_the_ordering_vectors() -> None:
    for left, op, right in _vectors():
        try:
            a, b = pep440_key(Version(left)), pep440_key(Version(right))
        except InvalidVersion:  # ordered apart, below every valid one (test_ordering_vectors)
            continue
        assert {"<": a < b, "=": a == b, ">": a > b}[op], (left, op, right)


_ANY_VERSIONS = st.one_of(
    _VERSIONS, st.sampled_from(["banana", "1.0-final-x", "2.0.0.0", "1!0", *LEGACY_ORDER])
)


@given(st.dictionaries(_ANY_VERSIONS, st.booleans(), min_size=1, max_size=12))
def test_pick_latest_picks_as_warehouse_does(yanked: dict[str, bool]) -> None:
    # The fake pypi.org models warehouse's own query (yanked, is_prerelease, _pypi_ordering).
    releases = [R(version, gone) for version, gone in yanked.items()]
    specs = [ReleaseSpec(version, yanked=gone) for version, gone in yanked.items()]
    chosen = pick_latest(releases)
    assert chosen is not None and chosen.version == fake_pick_latest(specs).version


@given(st.dictionaries(_ANY_VERSIONS, st.booleans(), max_size=12))
def test_pick_latest_version_agrees_with_pick_latest(yanked: dict[str, bool]) -> None:
    releases = [R(version, gone) for version, gone in yanked.items()]
    latest = pick_latest(releases)
    assert pick_latest_version(yanked) == (None if latest is None else latest.version)


_RELEASE_NUMBERS = st.from_regex(r"\A[0-9]{1,3}(\.[0-9]{1,2}){0,3}\Z")
_OTHERS = st.sampled_from(["1.0rc1", "1.0.post1", "1!0.1", "banana", "2.0\n9.9", "0.0", "00"])


@given(st.dictionaries(st.one_of(_RELEASE_NUMBERS, _OTHERS), st.booleans(), max_size=12))
def test_pick_latest_version_orders_release_numbers_alone_as_parsed(
    yanked: dict[str, bool],
) -> None:
    # Leading zeros, trailing zeros ("1.00" against "1.0.0") and a newline inside a version:
    # the bulk ordering of release numbers alone must still agree with parsing each.
    releases = [R(version, gone) for version, gone in yanked.items()]
    latest = pick_latest(releases)
    assert pick_latest_version(yanked) == (None if latest is None else latest.version)


def test_pick_latest_version_among_equal_release_numbers() -> None:
    # One version spelled three ways: the text decides, as pick_latest's key does.
    assert pick_latest_version({"1.0.0": False, "1.00": False, "1": False}) == "1.00"
    assert pick_latest_version({"1.0": False, "01.0": False, "0.9.9": False}) == "1.0"
    assert pick_latest_version({"2.0\n9.9": False, "1.0": False}) == "1.0"
    assert pick_latest_version({"1.0": False, "1.0.post1": False, "1.1rc1": False}) == "1.0.post1"


@given(_ANY_VERSIONS)
def test_what_passes_for_a_pre_release_unparsed_is_one(version: str) -> None:
    # pick_latest_version passes these over next to a final release without parsing them.
    if versions._plain_prerelease(version):
        assert Version(version).is_prerelease


def test_pick_latest_version_parses_no_pre_release_next_to_a_final() -> None:
    candidates = [f"7.{i}.0rc{i}" for i in range(50)] + ["7.0.dev1", "7.1.0a1.post2.dev3"]
    yanked = dict.fromkeys(["6.9.0", *candidates], False)
    before = versions.order_key.cache_info().misses
    assert pick_latest_version(yanked) == "6.9.0"
    assert versions.order_key.cache_info().misses == before
    # A final that is not a release number alone is still a rival, and is parsed.
    assert pick_latest_version({**yanked, "6.9.0.post1": False}) == "6.9.0.post1"


@given(st.from_regex(r"\A[0-9]{1,5}(\.[0-9]{1,5}){0,5}\Z"))
def test_release_numbers_alone_are_keyed_as_their_parsed_versions_are(version: str) -> None:
    # Built from the digits without parsing: the same key, so they order among parsed ones.
    parsed = Version(version)
    assert versions._sortable.__wrapped__(version) == (1, pep440_key(parsed), version)
    assert versions._ranked.__wrapped__(version) == (2, (1, pep440_key(parsed), version))
    assert not parsed.is_prerelease


def test_release_numbers_alone_order_among_other_versions() -> None:
    releases = [R(v) for v in ("1.0.post1", "1.0", "1.0.0.0", "01.0.1", "1.0rc1", "1!0.1", "x")]
    ordered = [r.version for r in newest_first(releases)]
    # 1.0.0.0 and 1.0 are the same version: their text decides, as before.
    assert ordered == ["1!0.1", "01.0.1", "1.0.post1", "1.0.0.0", "1.0", "1.0rc1", "x"]
    # Oldest first, with some keys made ahead (``sort_keys``) or none, is the same order.
    for made in ({}, sort_keys(["x", "1.0rc1"]), sort_keys(ordered)):
        assert oldest_first(reversed(ordered), made) == ordered[::-1]


@dataclass(frozen=True)
class Described:
    version: str
    yanked: bool = False
    info: dict[str, str] | None = None


INFO = {"summary": "its own"}


@pytest.mark.parametrize(
    ("releases", "expected"),
    [
        # No spelling has its own info: the text decides, as pick_latest does.
        ([Described("3.0"), Described("3.0.0")], "3.0.0"),
        # The spelling with its own info (the one the upstream described) wins the tie.
        ([Described("3.0", info=INFO), Described("3.0.0")], "3.0"),
        ([Described("3"), Described("3.0", info=INFO), Described("3.0.0")], "3.0"),
        # Several with their own info: the text decides among those.
        ([Described("3", info=INFO), Described("3.0", info=INFO), Described("3.0.0")], "3.0"),
        # Never a yanked twin, nor another version.
        ([Described("3.0", yanked=True, info=INFO), Described("3.0.0")], "3.0.0"),
        ([Described("2.0", info=INFO), Described("3.0.0")], "3.0.0"),
        ([], None),
    ],
)
def test_pick_described_prefers_the_spelling_with_its_own_info(
    releases: list[Described], expected: str | None
) -> None:
    chosen = versions.pick_described(releases)
    assert (chosen.version if chosen else None) == expected


@pytest.mark.parametrize(
    ("releases", "described", "expected"),
    [
        # Both spellings with their own info: the one the upstream described wins.
        ([Described("3.0", info=INFO), Described("3.0.0", info=INFO)], "3.0", "3.0"),
        ([Described("3.0", info=INFO), Described("3.0.0", info=INFO)], "3.0.0", "3.0.0"),
        ([Described("3.0"), Described("3.0.0", info=INFO)], "3.0", "3.0"),
        # Never another version, a yanked twin, or a version that is gone.
        ([Described("2.0", info=INFO), Described("3.0.0", info=INFO)], "2.0", "3.0.0"),
        ([Described("3.0", yanked=True, info=INFO), Described("3.0.0")], "3.0", "3.0.0"),
        ([Described("3.0", info=INFO), Described("3.0.0", info=INFO)], "3.00", "3.0.0"),
        ([Described("3.0", info=INFO), Described("3.0.0")], None, "3.0"),
    ],
)
def test_pick_described_prefers_the_spelling_the_upstream_described(
    releases: list[Described], described: str | None, expected: str
) -> None:
    chosen = versions.pick_described(releases, described)
    assert chosen is not None and chosen.version == expected
