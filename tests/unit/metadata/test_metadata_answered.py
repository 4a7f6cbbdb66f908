"""A miss's answer takes the fastest path its document allows, each giving the answer and the
write the general path gives; a document no path can store is a clear 502."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from pkgdex.metadata import canonical, exact, render, views
from pkgdex.metadata.answered import Answered, Received, answer, checked_document
from pkgdex.metadata.arriving import Arriving
from pkgdex.metadata.documents import parse_document
from pkgdex.metadata.upstream import UpstreamError
from pkgdex.metadata.versions import pick_latest
from support.fake_pypi import standard_projects

NAME = "sampleproject"
URL = "https://pypi.example/pypi/sampleproject/json"


def _sample() -> dict[str, Any]:
    return copy.deepcopy(next(p.doc() for p in standard_projects() if p.name == NAME))


def _first_file(data: dict[str, Any]) -> dict[str, Any]:
    first: dict[str, Any] = next(files for files in data["releases"].values() if files)[0]
    return first


def _answer(data: dict[str, Any], *, compact: bool = True) -> Answered:
    body = orjson.dumps(data, option=orjson.OPT_SORT_KEYS) if compact else _spaced(data)
    arrived = Arriving()
    arrived.feed(body)
    return answer(Received(body, URL, NAME, '"up"', 7, 1.0, "rev"), {}, arrived)


def _spaced(data: dict[str, Any]) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2)


def _general_body(data: dict[str, Any]) -> bytes:
    doc = parse_document(data, expected_name=NAME)
    state = views.project_state(doc, project_id=7, fetched_at=1.0, etag='"up"', revision="rev")
    view = views.project_view(doc, state, {})
    release = pick_latest(view.releases)
    assert release is not None
    return render.project_json(view, release).body


def test_an_exact_document_is_answered_from_its_bytes_and_written_from_them() -> None:
    data = _sample()
    made = _answer(data)
    assert made.rendered is not None
    assert made.rendered.body == _general_body(data)
    assert isinstance(made.write.keep, exact.Exact)
    assert isinstance(made.write.page_source()[0], exact.Exact)  # no view needed for its page
    assert (made.state.id, made.state.revision, made.state.upstream_etag) == (7, "rev", '"up"')
    assert made.write.document().canonical_name == NAME


def test_a_canonical_document_in_another_form_is_answered_in_one_pass() -> None:
    data = _sample()
    _first_file(data)["core_metadata"] = {"sha256": "ab"}  # not exact
    made = _answer(data)
    assert made.rendered is not None
    assert made.rendered.body == _general_body(data)
    assert isinstance(made.write.keep, canonical.Canonical)
    assert not isinstance(made.write.keep, exact.Exact)


def test_the_same_document_spaced_out_is_answered_with_the_same_values() -> None:
    data = _sample()
    compact, spaced = _answer(data), _answer(data, compact=False)
    assert compact.rendered is not None and spaced.rendered is not None
    assert orjson.loads(spaced.rendered.body) == orjson.loads(compact.rendered.body)


def test_a_document_only_the_general_check_takes_is_answered_from_its_view() -> None:
    data = _sample()
    _first_file(data)["upload_time_iso_8601"] = "2020-01-01T12:00:00+00:00"
    made = _answer(data)
    assert made.rendered is None  # the answer is rendered over the write's view
    assert made.write.keep is None
    view = made.write.view()
    assert view.state == made.state
    assert sum(len(r.files) for r in view.releases) == sum(map(len, data["releases"].values()))


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", orjson.dumps({"info": {"name": NAME}})],
    ids=["not JSON", "not an object", "no releases"],
)
def test_a_body_no_path_can_store_is_a_clear_502(body: bytes) -> None:
    with pytest.raises(UpstreamError) as raised:
        answer(Received(body, URL, NAME, None, 0, 1.0, "rev"), {}, Arriving())
    assert (raised.value.status, raised.value.code) == (502, "upstream_malformed")


def test_a_release_document_given_for_a_project_is_refused() -> None:
    data = _sample()
    del data["releases"]  # what /pypi/<project>/<version>/json answers
    with pytest.raises(UpstreamError, match="unexpected document kind"):
        checked_document(data, NAME, project=True)
    assert checked_document(data, NAME, project=False).canonical_name == NAME


def test_another_projects_document_is_refused() -> None:
    with pytest.raises(UpstreamError, match="unusable document"):
        checked_document(_sample(), "someone-else", project=True)
