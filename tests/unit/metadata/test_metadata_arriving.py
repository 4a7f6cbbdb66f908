"""Releases checked while the body arrives give exactly what decoding the whole body gives,
however the body is cut into chunks; every body whose releases cannot be found for certain
is decoded whole."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from pkgdex.metadata import exact, negotiation, simple
from pkgdex.metadata.arriving import Arriving
from pkgdex.metadata.versions import pick_latest_version
from support.fake_pypi import big_project, standard_projects
from unit.metadata.test_metadata_canonical import NOT_EXACT, PLACES, _exact_documents

Doc = dict[str, Any]
SIZES = (1, 3, 64, 1000, 65536)


def _arrived(body: bytes, size: int) -> Arriving:
    arriving = Arriving()
    for at in range(0, len(body), size):
        arriving.feed(body[at : at + size])
    return arriving


def _agrees(body: bytes, name: str, sizes: tuple[int, ...] = SIZES) -> bool:
    """Assert that every chunking gives what the whole decode gives; whether the releases
    were taken as they arrived, in chunks of the last size."""
    whole = exact.read(body, name)
    if whole is not None and whole.latest is not None:
        assert whole.latest == _chosen(whole)
    for size in sizes:
        assert exact.read(body, name, _arrived(body, size)) == whole, size
    return _arrived(body, sizes[-1]).finish(body) is not None


def _chosen(doc: exact.Exact) -> str | None:
    """What the project endpoint describes, chosen among every release at once."""
    return pick_latest_version({v: doc.states[v][0] for v in doc.releases})


def _sample() -> Doc:
    return copy.deepcopy(next(p.doc() for p in standard_projects() if p.name == "sampleproject"))


@pytest.mark.parametrize("data", _exact_documents(), ids=lambda d: str(d["info"]["name"]))
@pytest.mark.parametrize("sort", [True, False], ids=["keys sorted", "keys as built"])
def test_pypi_org_writing_is_checked_while_it_arrives(data: Doc, sort: bool) -> None:
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS if sort else 0)
    name = canonicalize_name(data["info"]["name"])
    assert exact.read(body, name) is not None
    assert _agrees(body, name)


@given(st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=40))
@settings(max_examples=60, deadline=None)
def test_any_chunking_gives_the_whole_decode(cuts: list[int]) -> None:
    body = orjson.dumps(big_project("chunky", 60).doc(), option=orjson.OPT_SORT_KEYS)
    arriving, at = Arriving(), 0
    for size in cuts:
        arriving.feed(body[at : at + size])
        at += size
    arriving.feed(body[at:])
    assert exact.read(body, "chunky", arriving) == exact.read(body, "chunky")
    assert arriving.finish(body) is not None


@pytest.mark.parametrize("change", NOT_EXACT.values(), ids=NOT_EXACT.keys())
def test_what_the_whole_decode_refuses_is_refused_as_it_arrives(change: Any) -> None:
    data = _sample()
    change(data)
    try:
        body = orjson.dumps(data)
    except TypeError:  # past 64 bits: written by the standard library
        body = json.dumps(data).encode()
    assert exact.read(body, "sampleproject") is None
    _agrees(body, "sampleproject")


def test_escapes_that_write_no_nul_are_checked_as_they_arrive() -> None:
    # Only the escape \u0000 writes a NUL: the releases' other escapes (pypi.org writes
    # any text that is not ASCII with them) keep a document on the fast path.
    data = _sample()
    data["releases"]["1.0.0"][0]["comment_text"] = 'caf\u00e9 "quoted" \\ \u2028'
    data["info"]["description"] = "a NUL where nothing stores it as a column: \x00"
    body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    assert b"\\u00e9" in body and b"\\u0000" in body
    assert exact.read(body, "sampleproject") is not None
    assert _agrees(body, "sampleproject")


@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_a_number_no_parser_accepts_is_refused_as_it_arrives(place: Any) -> None:
    data = _sample()
    place(data)
    body = orjson.dumps(data).replace(b'"MARK"', b"1e400")
    assert exact.read(body, "sampleproject") is None
    _agrees(body, "sampleproject")


def _text_in_a_file(text: str) -> Doc:
    data = _sample()
    data["releases"]["1.0.0"][0]["comment_text"] = text
    return data


TRICKY: dict[str, tuple[bytes, bool]] = {
    # (body, whether its releases can still be taken as they arrived)
    "a cut inside a string": (orjson.dumps(_text_in_a_file('x}],"1.0"')), True),
    "a string ending like a cut": (orjson.dumps(_text_in_a_file("x}],")), True),
    "the releases' end inside a string": (orjson.dumps(_text_in_a_file(']},"urls":')), True),
    "releases inside info": (
        orjson.dumps({**_sample(), "info": {**_sample()["info"], "x": {"a": 1, "releases": {}}}}),
        False,
    ),
    "a second releases key": (
        orjson.dumps(_sample()).replace(b',"urls":', b',"releases":{},"urls":', 1),
        False,
    ),
    "a version given twice": (  # in one batch: decoded as the whole decode decodes it
        orjson.dumps(_sample()).replace(b'"releases":{', b'"releases":{"3.0.0":[],', 1),
        True,
    ),
    # The releases' end looked for from the end of the body finds this one first: the last
    # batch then does not decode as one object, and the body is decoded whole.
    "the releases' end again in a vulnerability": (
        orjson.dumps({**_sample(), "vulnerabilities": [{"a": {"b": [1]}, "urls": 2}]}),
        False,
    ),
    # Not JSON: the document is closed after its vulnerabilities and goes on. The releases
    # and everything after the first end are each one JSON value, and the whole is not.
    "closed early, its end again after": (
        orjson.dumps({**_sample(), "vulnerabilities": []})[:-1]
        + b'},"urls":'
        + orjson.dumps(_sample()["urls"])
        + b"}",
        False,
    ),
    "no releases": (orjson.dumps({**_sample(), "releases": {}}), False),
    "releases last": (
        orjson.dumps({k: v for k, v in _sample().items() if k != "releases"})[:-1]
        + b',"releases":'
        + orjson.dumps(_sample()["releases"])
        + b"}",
        False,
    ),
    "spaced": (json.dumps(_sample(), indent=1).encode(), False),
    # Its releases are whole; the rest, decoded at the end, is not.
    "cut short": (orjson.dumps(_sample())[:-40], True),
}


@pytest.mark.parametrize(("body", "taken"), TRICKY.values(), ids=TRICKY.keys())
def test_releases_not_found_for_certain_are_decoded_whole(body: bytes, taken: bool) -> None:
    assert _agrees(body, "sampleproject") is taken


def test_a_version_given_twice_in_two_batches_is_decoded_whole() -> None:
    # Checked in separate batches, the first one's files would count too: only the whole
    # decode knows that the last one alone does.
    body = orjson.dumps(big_project("twice", 40).doc(), option=orjson.OPT_SORT_KEYS)
    last = body.rindex(b'}],"', 0, body.index(b']},"urls":')) + 3  # the last release's key
    body = body[:last] + b'"0.0.0":[],' + body[last:]  # the first release's version again
    assert _agrees(body, "twice", sizes=(1000,)) is False


def _described(version: str, yanked: bool, *, files_yanked: bool | None = None) -> Doc:
    data = _sample()
    data["info"].update(version=version, yanked=yanked)
    for file in data["releases"].get(version, []):
        file["yanked"] = yanked if files_yanked is None else files_yanked
    return data


DESCRIBED: dict[str, Doc] = {
    "info yanks the newest, its files do not": _described("3.0.0", True, files_yanked=False),
    "info yanks an older one": _described("2.0.0", True, files_yanked=False),
    "info lifts a yanked one": _described("3.1.0", False, files_yanked=True),
    "a described release not listed, yanked": _described("9.0", True),
    "a described release not listed": _described("9.0", False),
    "everything yanked": next(p.doc() for p in standard_projects() if p.name == "all-yanked"),
}


@pytest.mark.parametrize("data", DESCRIBED.values(), ids=DESCRIBED.keys())
def test_the_release_chosen_as_they_arrive_is_the_one_chosen_among_all(data: Doc) -> None:
    name = canonicalize_name(data["info"]["name"])
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    doc = exact.read(body, name, _arrived(body, 700))
    assert doc is not None
    assert (doc.latest or _chosen(doc)) == _chosen(doc)
    _agrees(body, name)


def test_a_failing_batch_stops_the_checking() -> None:
    arriving = Arriving()
    arriving.feed(b'{"info":{},"last_serial":1,"releases":{"1.0":[{"oops":1}],"2.0":[')
    arriving.feed(b"]}")  # ignored after the failure
    assert arriving.finish(b"") is None
    assert arriving.releases.files == {}


@pytest.mark.parametrize("data", _exact_documents(), ids=lambda d: str(d["info"]["name"]))
def test_versions_ordered_as_they_arrive_give_the_same_page(data: Doc) -> None:
    # For a Simple page, the versions' sort keys are made batch by batch.
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    name = canonicalize_name(data["info"]["name"])
    arriving = Arriving(ordered=True)
    for at in range(0, len(body), 64):
        arriving.feed(body[at : at + 64])
    ordered = exact.read(body, name, arriving)
    whole = exact.read(body, name)
    assert ordered is not None and whole is not None
    assert ordered.sort_keys is not None and whole.sort_keys is None
    assert ordered.sort_keys.keys() == set(data["releases"])
    for content_type in (negotiation.V1_JSON, negotiation.HTML):
        assert simple.prepare(ordered, content_type) == simple.prepare(whole, content_type)
