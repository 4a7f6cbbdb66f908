"""A miss answered before its write: a document in pypi.org's exact form gives its Simple page
and its files of unknown core metadata without building the view, and both are what the view
would give."""

from __future__ import annotations

import orjson
import pytest

from pkgdex.metadata import exact, negotiation, simple, views
from pkgdex.metadata.documents import parse_document
from pkgdex.metadata.pending import PendingWrite
from pkgdex.metadata.queries import ProjectState, ProjectView
from support.fake_pypi import big_project

NAME = "pending-project"
HASHES = {"sha256": "ab" * 32}


def _writes() -> tuple[PendingWrite, PendingWrite, ProjectState, list[str]]:
    """The same miss's write with its exact document, and without (through its view); and
    a list to which each view built adds a line."""
    data = big_project(NAME, 30).doc()
    doc = exact.read(orjson.dumps(data), NAME)
    assert doc is not None
    checked = parse_document(data, expected_name=NAME)
    state = views.project_state(checked, project_id=0, fetched_at=1.0, etag=None, revision="r")

    built: list[str] = []

    def view() -> ProjectView:
        built.append("a view")
        return views.project_view(checked, state, {})

    return (
        PendingWrite(state, lambda: checked, view, doc),
        PendingWrite(state, lambda: checked, view),
        state,
        built,
    )


def test_an_exact_document_gives_its_page_without_a_view() -> None:
    with_doc, without, state, built = _writes()
    source, values = with_doc.page_source()
    assert isinstance(source, exact.Exact)
    assert values == {}
    assert with_doc.unknown()
    assert built == [], "no view was built"
    for content_type in (negotiation.V1_JSON, negotiation.HTML):
        assert simple.fill(simple.prepare(source, content_type), state) == simple.project_page(
            without.view(), content_type
        )


@pytest.mark.parametrize("view_first", [False, True])
def test_unknown_files_are_the_views_before_and_after_learning(view_first: bool) -> None:
    with_doc, without, _, _ = _writes()
    if view_first:
        with_doc.view()
    assert sorted(with_doc.unknown()) == sorted(without.unknown())
    assert len(without.unknown()) == sum(len(r.files) for r in without.view().releases)
    learnt = {name: ("1" * 64, HASHES) for name, _ in without.unknown()[::3]}
    assert with_doc.learn(learnt) and without.learn(learnt)
    assert sorted(with_doc.unknown()) == sorted(without.unknown())
    assert not {name for name, _ in with_doc.unknown()} & learnt.keys()


def test_a_view_has_unknown_core_metadata_until_each_file_is_learnt() -> None:
    _, without, _, _ = _writes()
    files = without.unknown()
    assert views.has_unknown_core_metadata(without.view())
    assert without.learn({name: ("1" * 64, HASHES) for name, _ in files[1:]})
    assert views.unknown_core_metadata(without.view()) == files[:1]
    assert views.has_unknown_core_metadata(without.view())  # one file is still unknown
    assert without.learn({files[0][0]: (files[0][1], False)})  # asked: it has none
    assert views.unknown_core_metadata(without.view()) == []
    assert not views.has_unknown_core_metadata(without.view())
