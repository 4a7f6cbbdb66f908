"""A miss's answer rendered in one pass from a canonical document is byte for byte the answer
rendered from the checked document's stored values; anything not canonical takes the general
path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from packaging.utils import canonicalize_name

from pkgdex.metadata import canonical, render, views
from pkgdex.metadata.documents import parse_document
from pkgdex.metadata.queries import ProjectState
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
}


@pytest.mark.parametrize("change", NOT_CANONICAL.values(), ids=NOT_CANONICAL.keys())
def test_anything_else_takes_the_general_path(change: Change) -> None:
    data = copy.deepcopy(next(p.doc() for p in standard_projects() if p.name == "sampleproject"))
    assert canonical.read(data, "sampleproject") is not None
    change(data)
    assert canonical.read(data, "sampleproject") is None
