"""A PyPI miss's answer, made from the upstream's document before it is stored, and the write
that follows it (a :class:`PendingWrite`). The cache (``cache.py``) keeps the bookkeeping:
where the answer is remembered, the flight held until the write, when the write runs.

Three paths, fastest first: a document in exactly pypi.org's own form is decoded, checked and
rendered by msgspec (``exact``; its releases mostly while they arrived); another canonical
one is rendered in one pass over its parsed values (``canonical``); anything else is checked
and viewed first, where a malformed document fails as a 502.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from pkgdex.metadata import canonical, exact, views
from pkgdex.metadata.arriving import Arriving
from pkgdex.metadata.documents import MalformedDocumentError, PyPIDocument, parse_document
from pkgdex.metadata.pending import PendingWrite
from pkgdex.metadata.queries import FOUND, ProjectState
from pkgdex.metadata.render import Rendered
from pkgdex.metadata.upstream import UpstreamError, parse_json


@dataclass(frozen=True)
class Received:
    """An upstream project document as a miss received it, and what it will be stored as:
    its ``revision`` at ``fetched_at``, in the row ``project_id`` (0: none yet)."""

    body: bytes
    url: str
    name: str
    etag: str | None
    project_id: int
    fetched_at: float
    revision: str


@dataclass(frozen=True)
class Answered:
    """A miss's state, its JSON API answer when one was rendered from the document itself
    (None: answers are made from the write's view), and the write that stores it."""

    state: ProjectState
    rendered: Rendered | None
    write: PendingWrite


def answer(received: Received, known: dict[str, dict[str, Any]], arrived: Arriving) -> Answered:
    """``received``'s answer and write; ``known``: the releases' own infos already stored,
    which a refresh keeps; ``arrived``: its releases, checked as they arrived."""
    sent = exact.read(received.body, received.name, arrived)
    if sent is not None:
        state = _state_of(received, sent)
        rendered = exact.project_json(sent, state, known)
        if rendered is not None:
            return Answered(state, rendered, _write(received, state, known, sent))
    data = parse_json(received.body, received.url)
    doc = None if canonical.may_hold_nul(received.body) else canonical.read(data, received.name)
    if doc is not None:
        state = _state_of(received, doc)
        rendered = canonical.project_json(doc, state, known)
        if rendered is not None:
            return Answered(state, rendered, _write(received, state, known, doc, data))
    checked = checked_document(data, received.name, project=True)
    state = views.project_state(
        checked,
        project_id=received.project_id,
        fetched_at=received.fetched_at,
        etag=received.etag,
        revision=received.revision,
    )
    write = PendingWrite(state, lambda: checked, lambda: views.project_view(checked, state, known))
    return Answered(state, None, write)


def _state_of(received: Received, doc: canonical.Canonical) -> ProjectState:
    return ProjectState(
        received.project_id, received.name, doc.display_name, FOUND, doc.last_serial,
        received.fetched_at, received.etag, received.revision,
    )  # fmt: skip


def _write(
    received: Received,
    state: ProjectState,
    known: dict[str, dict[str, Any]],
    doc: canonical.Canonical,
    data: Any = None,
) -> PendingWrite:
    """The write of ``doc``, answered from its upstream body (``data`` when it was parsed for
    the answer): checked when it is stored. A document in pypi.org's own form (an
    ``exact.Exact``) gives its view straight from its decoded values, which passed a stricter
    check than the write's; another is viewed through the checked document."""
    body, name = received.body, received.name

    def check() -> PyPIDocument:
        return checked_document(orjson.loads(body) if data is None else data, name, project=True)

    if isinstance(doc, exact.Exact):
        sent = doc
        write = PendingWrite(state, check, lambda: exact.project_view(sent, state, known), sent)
    else:
        write = PendingWrite(
            state, check, lambda: views.project_view(write.document(), state, known)
        )
    write.keep = doc  # thousands of objects: let go of behind the answer, not before it
    return write


def checked_document(data: Any, name: str, *, project: bool) -> PyPIDocument:
    """``data``, the upstream's parsed document for ``name``, checked for storing (a project's
    or one release's, as ``project`` says); a 502 when it is unusable."""
    try:
        doc = parse_document(data, expected_name=name)
    except MalformedDocumentError as exc:
        message = f"the upstream sent an unusable document for {name!r}: {exc}"
        raise UpstreamError(502, "upstream_malformed", message) from exc
    if doc.is_project != project:
        raise UpstreamError(502, "upstream_malformed", f"unexpected document kind for {name!r}")
    return doc
