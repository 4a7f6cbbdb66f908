"""A project's Simple page, prepared before its core metadata is known and filled in after:
field for field as warehouse writes it, in canonical JSON (keys sorted, compact, so that every
process gives the same bytes and ETag), whatever its files' names and URLs hold."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pkgdex.metadata import exact, negotiation, simple
from pkgdex.metadata.listing import read_page
from pkgdex.metadata.queries import CoreMetadata, FileRow, ProjectState, ProjectView, ReleaseRow
from support.fake_pypi import big_project

STATE = ProjectState(1, "tricky", "Tricky", 200, 42, 0.0, None, "r1")
HASHES = {"sha256": "ab" * 32}


def _file(
    filename: str,
    *,
    url: str | None = None,
    sha256: str | None = "cd" * 32,
    requires_python: str | None = ">=3.8",
    upload_time: datetime | None = datetime(2024, 5, 6, 7, 8, 9, 120000),
    yanked: bool = False,
    yanked_reason: str | None = None,
    core_metadata: CoreMetadata | None = None,
) -> FileRow:
    return FileRow(
        filename,
        "bdist_wheel",
        "py3",
        requires_python,
        1234,
        upload_time,
        None,
        sha256,
        None,
        url or f"https://files.example.org/{filename}",
        yanked,
        yanked_reason,
        None,
        core_metadata,
    )


def _release(
    version: str, *files: FileRow, yanked: bool = False, reason: str | None = None
) -> ReleaseRow:
    return ReleaseRow(0, version, yanked, reason, None, None, tuple(files))


VIEW = ProjectView(
    STATE,
    (  # newest first, as views hold them
        _release(
            "2.0", _file("tricky-2.0.tar.gz", sha256=None, requires_python=None, upload_time=None)
        ),
        _release("1.5"),  # no files: not among the versions
        _release(
            "1.0",
            _file('a"},{"filename":"x.whl', url='https://h/a"},{"filename":<b>&amp;'),
            _file("tricky-1.0-py3-none-any.whl", core_metadata=HASHES, yanked=True),
            _file("tricky-1.0.tar.gz", core_metadata=True, yanked_reason="ignored: not yanked"),
            yanked=True,
            reason="bad <release>",
        ),
        _release("0.9", _file("tricky-0.9.tar.gz", yanked=True, yanked_reason="own reason")),
    ),
)


def _entry(f: FileRow, yanked: Any, metadata: Any) -> dict[str, Any]:
    return {
        "core-metadata": metadata,
        "data-dist-info-metadata": metadata,
        "filename": f.filename,
        "hashes": {"sha256": f.sha256} if f.sha256 else {},
        "requires-python": f.requires_python,
        "size": f.size,
        "upload-time": None if f.upload_time is None else f.upload_time.isoformat() + "Z",
        "url": f.url,
        "yanked": yanked,
    }


def _expected(values: dict[str, Any]) -> dict[str, Any]:
    files = [r.files for r in VIEW.releases]
    old, odd, wheel, sdist = files[3][0], *files[2]
    new = files[0][0]
    return {
        "files": [
            _entry(old, "own reason", values.get(old.filename, False)),
            _entry(odd, "bad <release>", values.get(odd.filename, False)),
            _entry(wheel, "bad <release>", values.get(wheel.filename, HASHES)),
            _entry(sdist, "ignored: not yanked", values.get(sdist.filename, True)),
            _entry(new, False, values.get(new.filename, False)),
        ],
        "meta": {"_last-serial": 42, "api-version": "1.1"},
        "name": "tricky",
        "versions": ["0.9", "1.0", "2.0"],
    }


VALUES = [
    {},
    {"tricky-2.0.tar.gz": HASHES, "tricky-1.0-py3-none-any.whl": False},
    # Values other than one plain sha256 take the encoder: more hashes, and text to escape.
    {
        "tricky-0.9.tar.gz": {"sha256": "ab" * 32, "md5": "00"},
        "tricky-2.0.tar.gz": {"sha256": 'a"\\'},
    },
]


@pytest.mark.parametrize("values", VALUES)
def test_json_page_holds_every_field_in_canonical_form(values: dict[str, Any]) -> None:
    body = simple.project_page(VIEW, negotiation.V1_JSON, values).body
    assert orjson.loads(body) == _expected(values)
    assert body == orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)


def test_a_prepared_page_is_filled_anew_for_each_set_of_values() -> None:
    for content_type in (negotiation.V1_JSON, negotiation.HTML):
        prepared = simple.prepare(VIEW, content_type)
        for values in (*VALUES, {}):
            filled = simple.fill(prepared, STATE, values)
            assert filled == simple.project_page(VIEW, content_type, values)
            assert filled.etag == simple.project_page(VIEW, content_type, values).etag


def test_html_page_escapes_and_marks_each_anchor() -> None:
    body = simple.project_page(VIEW, negotiation.HTML, {"tricky-2.0.tar.gz": HASHES}).body.decode()
    anchors = [line.strip() for line in body.splitlines() if line.strip().startswith("<a ")]
    sha = "cd" * 32
    metadata = (
        f'data-dist-info-metadata="sha256={"ab" * 32}" data-core-metadata="sha256={"ab" * 32}"'
    )
    odd = escape('https://h/a"},{"filename":<b>&amp;')
    odd_name = escape(VIEW.releases[2].files[0].filename)
    assert anchors == [
        f'<a href="https://files.example.org/tricky-0.9.tar.gz#sha256={sha}" '
        'data-requires-python="&gt;=3.8" data-yanked="own reason" >tricky-0.9.tar.gz</a><br />',
        f'<a href="{odd}#sha256={sha}" data-requires-python="&gt;=3.8" '
        f'data-yanked="bad &lt;release&gt;" >{odd_name}</a><br />',
        f'<a href="https://files.example.org/tricky-1.0-py3-none-any.whl#sha256={sha}" '
        f'data-requires-python="&gt;=3.8" data-yanked="bad &lt;release&gt;" {metadata}>'
        "tricky-1.0-py3-none-any.whl</a><br />",
        f'<a href="https://files.example.org/tricky-1.0.tar.gz#sha256={sha}" '
        'data-requires-python="&gt;=3.8" data-yanked="ignored: not yanked" '
        'data-dist-info-metadata="true" data-core-metadata="true">tricky-1.0.tar.gz</a><br />',
        f'<a href="https://files.example.org/tricky-2.0.tar.gz" {metadata}>'
        "tricky-2.0.tar.gz</a><br />",
    ]
    assert "<title>Links for tricky</title>" in body
    assert body.endswith("</html>\n<!--SERIAL 42-->\n")


ODD_DIGEST = 'ab" onmouseover="x()"><script>y()</script>'


def _exact_with_digest(sha256: str) -> exact.Exact:
    data = big_project("tricky", 2).doc()
    data["releases"]["0.1.0"][0]["digests"]["sha256"] = sha256
    doc = exact.read(orjson.dumps(data, option=orjson.OPT_SORT_KEYS), "tricky")
    assert doc is not None
    return doc


@pytest.mark.parametrize("source", ["view", "exact document"])
def test_html_page_escapes_a_digest_the_upstream_sent(source: str) -> None:
    # Digests are not checked for being hex: one that is not must not end the attribute.
    if source == "view":
        file = _file("tricky-1.0.tar.gz", sha256=ODD_DIGEST)
        body = simple.project_page(ProjectView(STATE, (_release("1.0", file),)), negotiation.HTML)
    else:
        body = simple.page(_exact_with_digest(ODD_DIGEST), STATE, negotiation.HTML)
    text = body.body.decode()
    assert f'#sha256={escape(ODD_DIGEST)}"' in text
    assert "<script>" not in text and '" onmouseover' not in text


def test_a_project_without_files_has_an_empty_page() -> None:
    empty = ProjectView(STATE, (_release("1.0"),))
    assert orjson.loads(simple.project_page(empty, negotiation.V1_JSON).body) == {
        "files": [],
        "meta": {"_last-serial": 42, "api-version": "1.1"},
        "name": "tricky",
        "versions": [],
    }
    assert "<a " not in simple.project_page(empty, negotiation.HTML).body.decode()


@pytest.mark.parametrize("values", VALUES[:2])  # the third's digests are no upstream's
def test_a_page_made_from_the_upstreams_is_the_same_page(values: dict[str, Any]) -> None:
    # pkgdex's own page as the upstream's: every form of every field comes back byte for byte.
    upstream = simple.project_page(VIEW, negotiation.V1_JSON, values).body
    whole = read_page(upstream, "u", whole=True).whole
    assert whole is not None
    for content_type in (negotiation.V1_JSON, negotiation.HTML):
        made = simple.upstream_page(whole, content_type)
        assert made == simple.project_page(VIEW, content_type, values), content_type


NOT_PKGDEX_FORM = {
    "an empty reason": {"yanked": ""},
    "an empty requires-python": {"requires-python": ""},
    "PEP 658's name alone": {"core-metadata": None},
    "PEP 714's name alone": {"data-dist-info-metadata": None},
    "empty core metadata": {"core-metadata": {}, "data-dist-info-metadata": {}},
    "a hash pkgdex does not show": {"hashes": {"sha256": "ab" * 32, "md5": "00" * 16}},
    "an empty digest": {"hashes": {"sha256": ""}},
}


@pytest.mark.parametrize("change", list(NOT_PKGDEX_FORM.values()), ids=list(NOT_PKGDEX_FORM))
def test_a_page_from_the_upstreams_in_another_form_is_pkgdexs_page(change: dict[str, Any]) -> None:
    values = {"tricky-2.0.tar.gz": HASHES}
    page = orjson.loads(simple.project_page(VIEW, negotiation.V1_JSON, values).body)
    for entry in page["files"]:
        if entry["filename"] == "tricky-2.0.tar.gz":
            entry.update(change)
            for key in [k for k, v in change.items() if v is None]:
                del entry[key]
    whole = read_page(orjson.dumps(page), "u", whole=True).whole
    assert whole is not None
    made = orjson.loads(simple.upstream_page(whole, negotiation.V1_JSON).body)
    entry = next(f for f in made["files"] if f["filename"] == "tricky-2.0.tar.gz")
    expected = _entry(VIEW.releases[0].files[0], False, HASHES)
    if change.get("yanked") == "":
        expected["yanked"] = True
    if "core-metadata" in change and change["core-metadata"] == {}:
        expected["core-metadata"] = expected["data-dist-info-metadata"] = False
    if change.get("hashes") == {"sha256": ""}:
        expected["hashes"] = {}
    elif "hashes" in change:
        expected["hashes"] = {"sha256": "ab" * 32}
    assert entry == expected


def test_a_page_made_from_the_upstreams_normalises_as_a_stored_file() -> None:
    page = orjson.loads(simple.project_page(VIEW, negotiation.V1_JSON).body)
    for entry in page["files"]:
        entry.update({"yanked": "", "requires-python": ""})  # stored, each is written back so
    whole = read_page(orjson.dumps(page), "u", whole=True).whole
    assert whole is not None
    made = orjson.loads(simple.upstream_page(whole, negotiation.V1_JSON).body)
    assert {(f["yanked"], f["requires-python"]) for f in made["files"]} == {(True, None)}
    html = simple.upstream_page(whole, negotiation.HTML).body.decode()
    assert html.count('data-yanked=""') == len(page["files"])
    assert "data-requires-python" not in html


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
_SHORT = _TEXT.filter(lambda t: 0 < len(t) <= 64)
_CORE = st.one_of(
    st.none(),
    st.booleans(),
    st.builds(lambda d: {"sha256": d}, st.text("0123456789abcdef", min_size=64, max_size=64)),
)


@st.composite
def _stored_file(draw: st.DrawFn) -> FileRow:
    when = draw(st.none() | st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)))
    return _file(
        draw(_SHORT),
        url=draw(_SHORT),
        sha256=draw(st.none() | _TEXT.filter(lambda t: len(t) <= 64)),
        requires_python=draw(st.none() | _TEXT),
        upload_time=when,
        yanked=draw(st.booleans()),
        yanked_reason=draw(st.none() | _TEXT),
        core_metadata=draw(_CORE),
    )


@st.composite
def _stored_view(draw: st.DrawFn) -> ProjectView:
    versions = draw(st.lists(_SHORT, min_size=1, max_size=5, unique=True))
    releases = [
        _release(
            version,
            *draw(st.lists(_stored_file(), max_size=3)),
            yanked=draw(st.booleans()),
            reason=draw(st.none() | _TEXT),
        )
        for version in versions
    ]
    return ProjectView(STATE, tuple(releases))


@given(view=_stored_view())
@settings(max_examples=150, deadline=None)
def test_any_stored_page_comes_back_the_same_from_the_upstreams(view: ProjectView) -> None:
    # Whatever a stored project holds, its page read as an upstream's gives the same page.
    page = simple.project_page(view, negotiation.V1_JSON)
    whole = read_page(page.body, "u", whole=True).whole
    assert whole is not None
    for content_type in (negotiation.V1_JSON, negotiation.HTML):
        assert simple.upstream_page(whole, content_type) == simple.project_page(view, content_type)
