"""A miss's answer rendered in one pass from a canonical document (from its parsed values, or
from its bytes by msgspec when it is exactly in pypi.org's form) is byte for byte the answer
rendered from the checked document's stored values; anything else takes a slower path, and
nothing the general check refuses is answered by a faster one."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from pkgdex.metadata import canonical, exact, negotiation, render, simple, views
from pkgdex.metadata.documents import parse_document
from pkgdex.metadata.queries import ProjectState, ProjectView
from pkgdex.metadata.versions import pick_latest
from support.fake_pypi import Project, ReleaseSpec, big_project, standard_projects

Doc = dict[str, Any]


def _general(data: Doc, name: str, known: dict[str, Any]) -> tuple[render.Rendered, ProjectState]:
    doc = parse_document(data, expected_name=name)
    state = views.project_state(doc, project_id=7, fetched_at=1.0, etag='"e"', revision="r")
    view = views.project_view(doc, state, known)
    release = pick_latest(view.releases)
    assert release is not None
    return render.project_json(view, release), state


def _fast(data: Doc, name: str, state: ProjectState, known: dict[str, Any]) -> render.Rendered:
    doc = canonical.read(data, name)
    assert doc is not None, "canonical"
    assert (doc.display_name, doc.last_serial) == (state.display_name, state.last_serial)
    rendered = canonical.project_json(doc, state, known)
    assert rendered is not None
    return rendered


def _single_file_releases() -> Doc:
    """Releases of one file (yanked with and without a reason, no requires-python), and one
    of several whose first file gives no requires-python."""
    doc = Project(
        "single-files",
        [
            ReleaseSpec("1.0", files=1),
            ReleaseSpec("1.1", files=1, yanked=True, yanked_reason="broken"),
            ReleaseSpec("1.2", files=1, yanked=True),
            ReleaseSpec("1.3", files=1, requires_python=None),
            ReleaseSpec("1.4", files=3, yanked=True, yanked_reason="bad wheels"),
        ],
    ).doc()
    doc["releases"]["1.4"][0].update(requires_python=None, yanked_reason=None)
    doc["releases"]["1.4"][1]["requires_python"] = ">=3.10"  # the first one given counts
    return doc


def _documents() -> list[Doc]:
    docs = [p.doc() for p in standard_projects()]
    docs.append(big_project("big", 120).doc())
    odd = Project("Odd_Name", [ReleaseSpec("1.0", files=3), ReleaseSpec("2.0", files=0)]).doc()
    odd["info"]["version"] = "3.0"  # its own release missing from releases: the urls are it
    odd["releases"]["1.0"][0].update(
        yanked=True, yanked_reason="", requires_python="", comment_text=None, size=None
    )
    odd["releases"]["1.0"][1].update(
        digests={"md5": "", "sha256": None}, core_metadata={"sha256": "ab"}, md5_digest="m"
    )
    odd["releases"]["1.0"][2].update(upload_time=None, upload_time_iso_8601=None)
    odd["releases"]["1.0"][1]["upload_time_iso_8601"] = "2020-01-01T12:00:00Z"
    odd["releases"]["1.0"][1]["upload_time"] = "2020-01-01T12:00:00"
    odd["releases"]["1.0"].reverse()  # files sorted by name on the way out
    docs.append(odd)
    docs.append(_single_file_releases())
    return docs


@pytest.mark.parametrize("data", _documents(), ids=lambda d: str(d["info"]["name"]))
def test_canonical_documents_render_as_the_general_path(data: Doc) -> None:
    name = canonicalize_name(data["info"]["name"])
    general, state = _general(data, name, {})
    fast = _fast(data, name, state, {})
    assert fast.body == general.body
    assert (fast.etag, fast.last_serial, fast.derived_info) == (
        general.etag,
        general.last_serial,
        general.derived_info,
    )


def test_known_release_infos_are_used_as_the_general_path_uses_them() -> None:
    data = next(p.doc() for p in standard_projects() if p.name == "sampleproject")
    data["info"] = {**data["info"], "version": "2.0.0"}  # the latest (3.0.0) is another one
    known = {"3.0.0": {**data["info"], "summary": "fetched before", "version": "3.0.0"}}
    bodies = set()
    for infos in ({}, known):
        general, state = _general(data, "sampleproject", infos)
        assert _fast(data, "sampleproject", state, infos).body == general.body
        bodies.add(general.body)
    assert len(bodies) == 2  # derived, then the info fetched before


def _file(data: Doc) -> Doc:
    first: Doc = next(files for files in data["releases"].values() if files)[0]
    return first


Change = Callable[[Doc], object]
NOT_CANONICAL: dict[str, Change] = {
    "not an object": lambda d: d.clear(),
    "no releases (a release document)": lambda d: d.pop("releases"),
    "another project": lambda d: d["info"].update(name="someone-else"),
    "long version": lambda d: d["releases"].update({"9" * 300: []}),
    "serial as text": lambda d: d.update(last_serial="5"),
    "summary as a number": lambda d: d["info"].update(summary=5),
    "size as a float": lambda d: _file(d).update(size=12.0),
    "negative size": lambda d: _file(d).update(size=-1),
    "size past the column": lambda d: _file(d).update(size=2**63),
    "serial past the column": lambda d: d.update(last_serial=2**63),
    "yanked as text": lambda d: _file(d).update(yanked="yes"),
    "no filename": lambda d: _file(d).pop("filename"),
    "a digest as a number": lambda d: _file(d)["digests"].update(md5=5),
    "zoned time": lambda d: _file(d).update(upload_time_iso_8601="2020-01-01T12:00:00+00:00"),
    "short fraction": lambda d: _file(d).update(upload_time_iso_8601="2020-01-01T12:00:00.5Z"),
    "zero fraction": lambda d: _file(d).update(upload_time_iso_8601="2020-01-01T12:00:00.000000Z"),
    "no such day": lambda d: _file(d).update(upload_time_iso_8601="2020-02-30T12:00:00Z"),
    "offset and Z": lambda d: _file(d).update(upload_time_iso_8601="2020-01-01T12:00:00+01:00Z"),
    "week date": lambda d: _file(d).update(upload_time_iso_8601="2020-W01-1T12:00:00Z"),
    "space": lambda d: _file(d).update(upload_time_iso_8601="2020-01-01 12:00:00Z"),
    "time as a number": lambda d: _file(d).update(upload_time_iso_8601=1577880000),
    "other plain time": lambda d: _file(d).update(upload_time="2020-01-01T13:00:00"),
    "core metadata as a list": lambda d: _file(d).update(core_metadata=["x"]),
    "a file that is not an object": lambda d: d["urls"].append("x"),
    # No PostgreSQL text column holds a NUL (``documents.where_nul``).
    "a NUL in the summary": lambda d: d["info"].update(summary="a\x00"),
    "a NUL in the version described": lambda d: d["info"].update(version="3.0.0\x00"),
    # Longer than its column, which only PostgreSQL enforces.
    "a sha256 past its column": lambda d: _file(d)["digests"].update(sha256="a" * 65),
    "an md5 past its column": lambda d: _file(d).update(md5_digest="a" * 33),
}


@pytest.mark.parametrize("change", NOT_CANONICAL.values(), ids=NOT_CANONICAL.keys())
def test_anything_else_takes_the_general_path(change: Change) -> None:
    data = copy.deepcopy(next(p.doc() for p in standard_projects() if p.name == "sampleproject"))
    assert canonical.read(data, "sampleproject") is not None
    change(data)
    assert canonical.read(data, "sampleproject") is None


# The exact path: msgspec decodes and checks the upstream's bytes and encodes them back.


def _exact(body: bytes, name: str, state: ProjectState, known: dict[str, Any]) -> bytes | None:
    doc = exact.read(body, name)
    if doc is None:
        return None
    assert (doc.display_name, doc.last_serial) == (state.display_name, state.last_serial)
    rendered = exact.project_json(doc, state, known)
    assert rendered is not None
    assert rendered.etag == render.make_etag(rendered.body)
    return rendered.body


def _sample() -> Doc:
    return copy.deepcopy(next(p.doc() for p in standard_projects() if p.name == "sampleproject"))


def _exact_documents() -> list[Doc]:
    docs = [p.doc() for p in standard_projects()]
    docs.append(big_project("big", 120).doc())
    unlisted = Project("Odd_Name", [ReleaseSpec("1.0", files=3), ReleaseSpec("2.0", files=0)])
    odd = unlisted.doc()
    odd["info"]["version"] = "3.0"  # its own release missing from releases: the urls are it
    odd["releases"]["1.0"].reverse()  # files sorted by name on the way out
    odd["releases"]["1.0"][0]["upload_time_iso_8601"] = "2020-02-29T12:00:00.123456Z"
    odd["releases"]["1.0"][0]["upload_time"] = "2020-02-29T12:00:00"
    odd["releases"]["1.0"][1].update(upload_time=None, upload_time_iso_8601=None, size=None)
    odd["releases"]["ünï-1"] = []  # keys sorted by code point, as orjson sorts them
    # Text that each encoder must escape alike, in what a Simple page shows of a file.
    odd["releases"]["1.0"][2]["url"] = 'https://h/a"},{"filename":<b>&amp;\u2028\x7f\x1f'
    odd["releases"]["1.0"][2]["requires_python"] = '>="3"\\ ü'
    odd["info"]["extra"] = {"float": 1e16, "text": "\u2028\x7f\x00"}
    docs.append(odd)
    docs.append(_single_file_releases())
    return docs


@pytest.mark.parametrize("data", _exact_documents(), ids=lambda d: str(d["info"]["name"]))
def test_exact_documents_render_as_the_general_path(data: Doc) -> None:
    name = canonicalize_name(data["info"]["name"])
    general, state = _general(data, name, {})
    body = orjson.dumps(data)
    assert _exact(body, name, state, {}) == general.body


@pytest.mark.parametrize("data", _exact_documents(), ids=lambda d: str(d["info"]["name"]))
@pytest.mark.parametrize("sorted_keys", [False, True])
def test_exact_documents_view_as_their_checked_rows(data: Doc, sorted_keys: bool) -> None:
    # A miss's Simple page (and its later answers) come from this view before the write
    # checks the document: it must be the view the stored rows give back.
    name = canonicalize_name(data["info"]["name"])
    checked = parse_document(data, expected_name=name)
    state = views.project_state(checked, project_id=0, fetched_at=1.0, etag=None, revision="r")
    other = next((v for v in data["releases"] if v != data["info"]["version"]), "0.1")
    known = {other: {**data["info"], "summary": "fetched before", "version": other}}
    doc = exact.read(orjson.dumps(data, option=orjson.OPT_SORT_KEYS if sorted_keys else 0), name)
    assert doc is not None
    for infos in ({}, known):
        view = exact.project_view(doc, state, infos)
        assert view == views.project_view(checked, state, infos)
        for content_type in (negotiation.HTML, negotiation.V1_JSON):
            page = simple.project_page(view, content_type).body
            assert (
                page
                == simple.project_page(views.project_view(checked, state, infos), content_type).body
            )
            # A miss's first page is prepared straight from the document, without the view.
            assert simple.fill(simple.prepare(doc, content_type), state).body == page


def _checked_view(data: Doc) -> tuple[str, ProjectView]:
    """The document's PEP 503 name and the view of its checked rows, as a miss stores it."""
    name = canonicalize_name(data["info"]["name"])
    checked = parse_document(data, expected_name=name)
    state = views.project_state(checked, project_id=0, fetched_at=1.0, etag=None, revision="r")
    return name, views.project_view(checked, state, {})


def _learnt_values(view: ProjectView) -> list[dict[str, Any]]:
    """Sets of core metadata the upstream's page may give the view's files: none, false for
    all, hashes for some, and true or values with more hashes and text to escape."""
    files = [f.filename for r in view.releases for f in r.files]
    odd = {"sha256": 'a"\\\u2028', "md5": "00", "blake2b_256": "ff"}
    return [
        {},
        dict.fromkeys(files, False),
        {f: {"sha256": "ab" * 32} for f in files[::2]},
        {**dict.fromkeys(files[1::3], True), **{f: dict(odd) for f in files[::5]}},
    ]


@pytest.mark.parametrize("data", _exact_documents(), ids=lambda d: str(d["info"]["name"]))
def test_a_page_of_an_exact_document_in_one_pass_is_its_views(data: Doc) -> None:
    # A never-seen project's page whose upstream page came first is encoded in one pass.
    name, view = _checked_view(data)
    doc = exact.read(orjson.dumps(data), name)
    assert doc is not None
    for values in _learnt_values(view):
        for content_type in (negotiation.HTML, negotiation.V1_JSON):
            one_pass = simple.page(doc, view.state, content_type, values)
            assert one_pass == simple.project_page(view, content_type, values)


@pytest.mark.parametrize("data", _exact_documents(), ids=lambda d: str(d["info"]["name"]))
def test_a_page_rendered_over_learnt_values_is_the_learnt_views(data: Doc) -> None:
    # A stored project's first page is rendered from its stored view and the core metadata
    # just learnt, before the view holding them is built (``pending.UnwrittenRevision``).
    _, view = _checked_view(data)
    for values in _learnt_values(view):
        learnt = views.with_core_metadata(view, values)
        for content_type in (negotiation.HTML, negotiation.V1_JSON):
            over = simple.project_page(view, content_type, values).body
            assert over == simple.project_page(learnt, content_type).body


@pytest.mark.parametrize("data", _exact_documents(), ids=lambda d: str(d["info"]["name"]))
def test_pypi_org_writing_is_answered_as_it_came_byte_for_byte(data: Doc) -> None:
    # pypi.org's form (compact, keys sorted): its releases bytes are answered as they came,
    # unless a release's files or the described release had to be put in.
    name = canonicalize_name(data["info"]["name"])
    general, state = _general(data, name, {})
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    doc = exact.read(body, name)
    assert doc is not None
    as_sent = data["info"]["version"] in data["releases"] and all(
        [f["filename"] for f in files] == sorted(f["filename"] for f in files)
        for files in data["releases"].values()
    )
    assert (doc.releases_as_sent is not None) == as_sent
    assert _exact(body, name, state, {}) == general.body


@pytest.mark.parametrize("data", _exact_documents(), ids=lambda d: str(d["info"]["name"]))
def test_another_writing_of_the_same_json_is_answered_value_for_value(data: Doc) -> None:
    name = canonicalize_name(data["info"]["name"])
    general, state = _general(data, name, {})
    spaced = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=True).encode()
    answered = _exact(spaced, name, state, {})
    assert answered is not None
    assert orjson.loads(answered) == orjson.loads(general.body)


def test_releases_out_of_order_are_encoded_again() -> None:
    data = _sample()
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    doc = exact.read(body, "sampleproject")
    assert doc is not None and doc.releases_as_sent is not None
    unordered = body.replace(b'"releases":{', b'"releases":{"99.0":[],', 1)
    doc = exact.read(unordered, "sampleproject")
    assert doc is not None and doc.releases_as_sent is None  # 99.0 written first
    general, state = _general(orjson.loads(unordered), "sampleproject", {})
    assert _exact(unordered, "sampleproject", state, {}) == general.body


def test_exact_known_release_infos_are_used_as_the_general_path_uses_them() -> None:
    data = _sample()
    data["info"] = {**data["info"], "version": "2.0.0"}  # the latest (3.0.0) is another one
    known = {"3.0.0": {**data["info"], "summary": "fetched before", "version": "3.0.0"}}
    bodies = set()
    for infos in ({}, known):
        general, state = _general(data, "sampleproject", infos)
        assert _exact(orjson.dumps(data), "sampleproject", state, infos) == general.body
        bodies.add(general.body)
    assert len(bodies) == 2  # derived, then the info fetched before


NOT_EXACT: dict[str, Change] = {
    **NOT_CANONICAL,
    "an empty requires-python": lambda d: _file(d).update(requires_python=""),
    "an empty yanked reason": lambda d: _file(d).update(yanked_reason=""),
    "a fourth digest": lambda d: _file(d)["digests"].update(sha512="ab"),
    "a digest missing": lambda d: _file(d)["digests"].pop("blake2b_256"),
    "md5 unlike its digest": lambda d: _file(d).update(md5_digest="other"),
    "signed": lambda d: _file(d).update(has_sig=True),
    "downloads counted": lambda d: _file(d).update(downloads=3),
    "core metadata given": lambda d: _file(d).update(core_metadata={"sha256": "ab"}),
    "core metadata given as null": lambda d: _file(d).update(core_metadata=None),
    "no downloads field": lambda d: _file(d).pop("downloads"),
    "no plain time": lambda d: _file(d).update(upload_time=None),
    "a plain time alone": lambda d: _file(d).update(upload_time_iso_8601=None),
    "the 31st of April": lambda d: _file(d).update(
        upload_time_iso_8601="2021-04-31T12:00:00Z", upload_time="2021-04-31T12:00:00"
    ),
    "the 29th of February 2021": lambda d: _file(d).update(
        upload_time_iso_8601="2021-02-29T12:00:00Z", upload_time="2021-02-29T12:00:00"
    ),
    "a second time after a newline": lambda d: _file(d).update(
        upload_time_iso_8601="2020-01-01T12:00:00Z\n2020-01-01T12:00:00Z",
        upload_time="2020-01-01T12:00:00",
    ),
    "year zero": lambda d: _file(d).update(
        upload_time_iso_8601="0000-01-01T12:00:00Z", upload_time="0000-01-01T12:00:00"
    ),
    "hour 24": lambda d: _file(d).update(
        upload_time_iso_8601="2020-01-01T24:00:00Z", upload_time="2020-01-01T24:00:00"
    ),
    "other digits": lambda d: _file(d).update(
        upload_time_iso_8601="２020-01-01T12:00:00Z", upload_time="２020-01-01T12:00:00"
    ),
    "a size past 64 bits": lambda d: _file(d).update(size=2**64),
    "a serial past 63 bits": lambda d: d.update(last_serial=2**63),
    "a float size": lambda d: _file(d).update(size=1.5),
    "a broken release list": lambda d: d["releases"].update({"9.0": {"a": 1}}),
    "an empty version": lambda d: d["releases"].update({"": []}),
    "a broken urls file": lambda d: d["urls"][0].update(yanked="no"),
    "a file field pkgdex does not know": lambda d: _file(d).update(provenance=None),
    "a top-level key pkgdex does not know": lambda d: d.update(ownership={}),
    "a NUL in a file's comment": lambda d: _file(d).update(comment_text="a\x00"),
    "a NUL in a file's sha256": lambda d: _file(d)["digests"].update(sha256="\x00"),
    "a NUL in a version": lambda d: d["releases"].update({"9.0\x00": []}),
    "a NUL in a file of urls": lambda d: d["urls"][0].update(yanked_reason="\x00"),
}


@pytest.mark.parametrize("change", NOT_EXACT.values(), ids=NOT_EXACT.keys())
def test_anything_else_is_left_to_the_slower_paths(change: Change) -> None:
    data = _sample()
    assert exact.read(orjson.dumps(data), "sampleproject") is not None
    change(data)
    try:
        body = orjson.dumps(data)
    except TypeError:  # past 64 bits: orjson cannot write it, so write it by hand
        body = _dumps_big(data)
    assert exact.read(body, "sampleproject") is None


PLACES: dict[str, Change] = {
    "a file field": lambda d: d["releases"]["1.0.0"][0].update(x="MARK"),
    "an advisory": lambda d: d.update(vulnerabilities=["MARK"]),
    "info": lambda d: d["info"].update(x="MARK"),
    "a top-level key": lambda d: d.update(x="MARK"),
}


@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_a_number_no_parser_accepts_is_never_passed_through(place: Change) -> None:
    # Nothing is only skipped over: a value the store's parser refuses must not be answered.
    data = _sample()
    place(data)
    body = orjson.dumps(data).replace(b'"MARK"', b"1e400")
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)  # what the general path answers with its 502
    assert exact.read(body, "sampleproject") is None


def _dumps_big(data: Doc) -> bytes:
    """``data`` as JSON with its integers past 64 bits written out (the stdlib can)."""
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"info": {"name": "x', b"\xff\xfe", b"[]", b"null", b'"x"', b"\xef\xbb\xbf{}"],
    ids=["empty", "open", "truncated", "not UTF-8", "a list", "null", "a string", "BOM"],
)
def test_bytes_that_are_not_a_document_are_left_to_the_general_path(body: bytes) -> None:
    assert exact.read(body, "sampleproject") is None


def test_an_info_integer_past_64_bits_is_left_to_the_general_path() -> None:
    data = _sample()
    data["info"]["huge"] = 2**70
    doc = exact.read(_dumps_big(data), "sampleproject")
    assert doc is not None, "its files are exact"
    state = ProjectState(0, "sampleproject", "sampleproject", 200, 0, 1.0, None, "r")
    assert exact.project_json(doc, state, {}) is None


@given(
    st.integers(0, 9999), st.integers(0, 19), st.integers(0, 39), st.integers(0, 29),
    st.integers(0, 69), st.integers(0, 69), st.integers(0, 999_999), st.booleans(),
)  # fmt: skip
@example(2000, 2, 29, 12, 0, 0, 0, False)
@example(1900, 2, 29, 12, 0, 0, 0, False)
@example(2024, 2, 29, 12, 0, 0, 0, False)
@example(2023, 2, 29, 12, 0, 0, 0, False)
@example(400, 2, 29, 12, 0, 0, 0, False)
@example(100, 2, 29, 12, 0, 0, 0, False)
@example(4, 2, 29, 12, 0, 0, 0, False)
@example(2021, 4, 31, 12, 0, 0, 0, False)
@example(2021, 4, 30, 12, 0, 0, 0, False)
@example(2021, 12, 31, 12, 0, 0, 0, False)
def test_an_upload_time_passes_exactly_when_it_is_written_back_as_it_came(
    year: int, month: int, day: int, hour: int, minute: int, second: int, micro: int, frac: bool
) -> None:
    fraction = f".{micro:06}" if micro or frac else ""
    iso = f"{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}Z"
    try:
        written_back = datetime.fromisoformat(iso[:-1]).isoformat() + "Z" == iso
    except ValueError:  # no such day or time
        written_back = False
    assert exact.times_ok([iso]) is written_back
    assert exact.times_ok([iso, "2020-02-29T00:00:00Z"]) is written_back
