"""The Simple repository API's bodies: PEP 503 HTML and PEP 691 JSON (which one a request gets
is ``negotiation.py``'s choice).

Bodies follow warehouse's ``packaging/utils.py`` and its ``api/simple`` templates; the files
point at the upstream's URLs (pkgdex indexes metadata, it does not host distributions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any, NamedTuple

import msgspec
import orjson
from msgspec import UNSET, Struct, UnsetType

from pkgdex.metadata.canonical import ReleaseState
from pkgdex.metadata.exact import Exact
from pkgdex.metadata.exact import File as ExactFile
from pkgdex.metadata.listing import WholeFile, WholePage, core_metadata_of
from pkgdex.metadata.negotiation import V1_JSON
from pkgdex.metadata.queries import CoreMetadata, FileRow, ProjectState, ProjectView
from pkgdex.metadata.render import Rendered, dumps, make_etag
from pkgdex.metadata.versions import oldest_first

API_VERSION = "1.1"
# What a page is prepared over: a project's view, or a miss's document in pypi.org's exact
# form, which gives the same page without the view (a thousand rows built for nothing else).
Source = ProjectView | Exact


def project_page(
    view: ProjectView, content_type: str, values: Mapping[str, Any] | None = None
) -> Rendered:
    """The project's page; ``values`` (filename -> core metadata) take the place of what its
    files hold, as ``views.with_core_metadata`` would give them."""
    return page(view, view.state, content_type, values)


def page(
    source: Source,
    state: ProjectState,
    content_type: str,
    values: Mapping[str, Any] | None = None,
) -> Rendered:
    """``source``'s page as ``state``, when nothing was prepared for it: the PEP 691 page of
    an exact document in one encoding, its core metadata among the rest (the page's whole
    cost, 1.3 ms for 1,000 files, against 2.5 ms to prepare it and then fill it)."""
    if isinstance(source, Exact) and content_type == V1_JSON:
        body = _exact_json_page(source, state, values or {})
        return Rendered(body, make_etag(body), state.last_serial)
    return fill(prepare(source, content_type), state, values)


class _Entry(Struct, gc=False):
    """An exact document's file's PEP 691 entry, its fields in the page's (sorted) order, as
    ``_row_entry`` gives a row's; the core metadata is left out (UNSET) of an entry prepared
    before it is known. Encoded by msgspec: a dict per file for orjson took twice as long.
    (A row's time is a datetime, which orjson writes with its "Z" faster than it can be made
    text for msgspec.)"""

    core_metadata: CoreMetadata | UnsetType = msgspec.field(name="core-metadata")
    data_dist_info_metadata: CoreMetadata | UnsetType = msgspec.field(
        name="data-dist-info-metadata"
    )
    filename: str
    hashes: dict[str, str]
    requires_python: str | None = msgspec.field(name="requires-python")
    size: int | None
    upload_time: str | None = msgspec.field(name="upload-time")  # UTC, with a "Z"
    url: str
    yanked: str | bool  # the reason, true, or false


class _Page(Struct, gc=False):
    files: list[_Entry] | list[WholeFile]  # the latter only in pkgdex's form (``_as_entries``)
    meta: dict[str, Any]
    name: str
    versions: list[str]


_encoder = msgspec.json.Encoder()
_sorted = msgspec.json.Encoder(order="sorted")  # core metadata's keys too, as ``dumps`` sorts


# Each file of a page, in the page's order: its name, its own core metadata, and its entry's
# text around where the core metadata goes (JSON: after it; HTML: before it, after it).
Files = list[tuple[str, CoreMetadata | None, bytes, bytes]]


class PreparedPage(NamedTuple):
    """A project's page rendered but for its files' core metadata, which :func:`fill` adds:
    the rest is rendered while the upstream's page that says it is still on its way."""

    content_type: str
    versions: list[str]
    files: Files


def prepare(source: Source, content_type: str) -> PreparedPage:
    """``source``'s page, its files oldest release first and by name within a release. As
    warehouse's ``_simple_detail``, the versions are those of the files listed (PEP 700
    allows either), so a release without files is not offered to an installer."""
    json = content_type == V1_JSON
    if isinstance(source, Exact):
        versions, files = _exact_files(source, json)
    else:
        versions, files = _view_files(source, json)
    return PreparedPage(content_type, versions, files)


def _view_files(view: ProjectView, json: bool) -> tuple[list[str], Files]:
    releases = view.releases[::-1]  # a view's releases are newest first
    versions = [r.version for r in releases if r.files]
    rows = [(r, f) for r in releases for f in r.files]
    if json:
        entries = [_row_entry(f, r.yanked, r.yanked_reason) for r, f in rows]
        texts = _json_entries(entries, _encode_rows)
        return versions, [
            (f.filename, f.core_metadata, text, b"")
            for (_, f), text in zip(rows, texts, strict=True)
        ]
    return versions, [
        _html_file(
            f.filename,
            f.core_metadata,
            f.url,
            f.sha256,
            f.requires_python,
            _yanked(f.yanked, f.yanked_reason, r.yanked, r.yanked_reason),
        )
        for r, f in rows
    ]


def _exact_files(doc: Exact, json: bool) -> tuple[list[str], Files]:
    """From the document's checked entries: their upload times are already the text a row's
    time is written as (``exact._ISO``), their requires-python is never "", the states of
    their releases are the rows' (the described release's as ``info`` says), and none has
    core metadata of its own."""
    versions, files = _exact_listing(doc)
    if json:
        exact_entries = [_exact_entry(f, state[0], state[1], UNSET) for state, f in files]
        texts = _json_entries(exact_entries, _encoder.encode)
        return versions, [
            (f.filename, None, text, b"") for (_, f), text in zip(files, texts, strict=True)
        ]
    return versions, [
        _html_file(
            f.filename,
            None,
            f.url,
            f.digests.sha256,
            f.requires_python,
            _yanked(f.yanked, f.yanked_reason, state[0], state[1]),
        )
        for state, f in files
    ]


def _exact_listing(doc: Exact) -> tuple[list[str], list[tuple[ReleaseState, ExactFile]]]:
    """The versions with files, oldest first, and each file with its release's state."""
    releases, states = doc.releases, doc.states
    versions = [v for v in oldest_first(releases, doc.sort_keys) if releases[v]]
    return versions, [(states[v], f) for v in versions for f in releases[v]]


def _exact_json_page(doc: Exact, state: ProjectState, values: Mapping[str, Any]) -> bytes:
    versions, files = _exact_listing(doc)
    entries = [
        _exact_entry(f, release[0], release[1], values.get(f.filename) or False)
        for release, f in files
    ]
    meta = {"_last-serial": state.last_serial, "api-version": API_VERSION}
    return _sorted.encode(_Page(entries, meta, state.name, versions))


def _row_entry(f: FileRow, release_yanked: bool, reason: str | None) -> dict[str, Any]:
    """A row's entry, as ``_Entry``; its time is encoded by ``_ENCODE``."""
    return {
        "filename": f.filename,
        "url": f.url,
        "hashes": {"sha256": f.sha256} if f.sha256 else {},
        "requires-python": f.requires_python or None,
        "size": f.size,
        "upload-time": f.upload_time,
        "yanked": _yanked(f.yanked, f.yanked_reason, release_yanked, reason),
    }


def _exact_entry(
    f: ExactFile,
    release_yanked: bool,
    reason: str | None,
    metadata: CoreMetadata | UnsetType,
) -> _Entry:
    sha256 = f.digests.sha256
    return _Entry(
        metadata,
        metadata,
        f.filename,
        {"sha256": sha256} if sha256 else {},
        f.requires_python,
        f.size,
        f.upload_time_iso_8601,
        f.url,
        _yanked(f.yanked, f.yanked_reason, release_yanked, reason),
    )


def _yanked(yanked: bool, own: str | None, release_yanked: bool, reason: str | None) -> str | bool:
    return (own or reason or True) if yanked or release_yanked else False


def fill(
    page: PreparedPage, state: ProjectState, values: Mapping[str, Any] | None = None
) -> Rendered:
    """``page`` with each file's core metadata: its value in ``values``, else its own."""
    values = values or {}
    if page.content_type == V1_JSON:
        body = _fill_json(page, state.name, state.last_serial, values)
    else:
        body = _fill_html(page, state.name, state.last_serial, values)
    return Rendered(body, make_etag(body), state.last_serial)


def upstream_page(whole: WholePage, content_type: str) -> Rendered:
    """The page pkgdex renders for a project, made from the upstream's own page
    (``firstpage``): each file's entry and core metadata as the upstream lists them, in its
    order, which is pkgdex's for a pypi.org page (warehouse's ``_simple_detail``); ``yanked``
    and ``requires-python`` normalised as a stored file's are."""
    serial = whole.meta.last_serial
    if content_type == V1_JSON:
        listed = whole.files
        entries = listed if _as_entries(listed) else [_whole_entry(f) for f in listed]
        meta = {"_last-serial": serial, "api-version": API_VERSION}
        body = _sorted.encode(_Page(entries, meta, whole.name, whole.versions))
    else:
        files = [
            _html_file(
                f.filename,
                core_metadata_of(f),
                f.url,
                f.hashes.get("sha256"),
                f.requires_python,
                _listed_yanked(f.yanked),
            )
            for f in whole.files
        ]
        body = _fill_html(PreparedPage(content_type, whole.versions, files), whole.name, serial, {})
    return Rendered(body, make_etag(body), serial)


def _as_entries(files: list[WholeFile]) -> bool:
    """Whether the upstream's files encode as pkgdex's entries as they are (a page as
    pypi.org writes it): each has the same field names, so only values that pkgdex writes
    otherwise are looked for. Encoding the files as read takes half the time of making an
    entry of each."""
    for f in files:
        metadata, hashes = f.core_metadata, f.hashes
        if (
            metadata is UNSET
            or metadata != f.dist_info_metadata
            or metadata == {}
            or f.requires_python == ""
            or f.yanked == ""
            or (hashes and (len(hashes) > 1 or not hashes.get("sha256")))
        ):
            return False
    return True


def _whole_entry(f: WholeFile) -> _Entry:
    metadata = core_metadata_of(f)
    sha256 = f.hashes.get("sha256")
    return _Entry(
        metadata,
        metadata,
        f.filename,
        {"sha256": sha256} if sha256 else {},
        f.requires_python or None,
        f.size,
        f.upload_time,
        f.url,
        _listed_yanked(f.yanked),
    )


def _listed_yanked(yanked: str | bool) -> str | bool:
    """A page's ``yanked`` as a stored file's renders: an empty reason is no reason."""
    return False if yanked is False else (yanked or True)


def index_page(projects: Sequence[tuple[str, str, int]], content_type: str) -> Rendered:
    serial = max((p[2] for p in projects), default=0)
    if content_type == V1_JSON:
        body = dumps(
            {
                "meta": {"_last-serial": serial, "api-version": API_VERSION},
                "projects": [{"_last-serial": s, "name": d} for _, d, s in projects],
            }
        )
    else:
        links = "".join(
            f'    <a href="/simple/{escape(name)}/">{escape(display)}</a>\n'
            for name, display, _ in projects
        )
        body = _INDEX_HTML.format(version=API_VERSION, links=links).encode()
    return Rendered(body, make_etag(body), serial)


# Sorted, each entry's keys start with "filename", after the two core metadata keys. A quote
# inside a JSON string is escaped, so this only occurs between two entries of a list.
_FIRST_KEY = b'{"filename":'
_BETWEEN = b'},{"filename":'


# Keys sorted, as ``render.dumps``; stored times are naive UTC, written with a "Z".
_ENCODE = orjson.OPT_SORT_KEYS | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _encode_rows(entries: object) -> bytes:
    return orjson.dumps(entries, option=_ENCODE)


def _json_entries(entries: Sequence[object], encode: Callable[[object], bytes]) -> list[bytes]:
    """Each entry's JSON after its core metadata keys: ``,"filename":...}``. One encoding of
    them all, cut between entries, takes a fraction of encoding each alone."""
    if not entries:
        return []
    whole = encode(entries)
    pieces = whole[len(_FIRST_KEY) + 1 : -2].split(_BETWEEN)
    if len(pieces) != len(entries):  # cannot happen (see above); encoded one by one then
        return [b"," + encode(entry)[1:] for entry in entries]
    return [b',"filename":' + piece + b"}" for piece in pieces]


def _fill_json(page: PreparedPage, name: str, serial: int, values: Mapping[str, Any]) -> bytes:
    around = dumps(
        {
            "files": [],
            "meta": {"_last-serial": serial, "api-version": API_VERSION},
            "name": name,
            "versions": page.versions,
        }
    )
    # A flat list, joined once into the body: no bytes are made per file but its value, and
    # none the body's size but the body (each such copy costs its fresh pages' faults).
    parts = [b'{"files":[']
    add, comma = parts.extend, b""
    for name, own, text, _ in page.files:
        value = _json_value(values.get(name, own) or False)
        add((comma, b'{"core-metadata":', value, b',"data-dist-info-metadata":', value, text))
        comma = b","
    parts.append(around[len(b'{"files":[') :])
    return b"".join(parts)


def _json_value(metadata: Any) -> bytes:
    if metadata is True or metadata is False:
        return b"true" if metadata else b"false"
    digest = metadata.get("sha256") if type(metadata) is dict and len(metadata) == 1 else None
    # The usual value, written without an encoder call; letters and digits need no escaping.
    if isinstance(digest, str) and digest.isascii() and digest.isalnum():
        return b'{"sha256":"' + digest.encode() + b'"}'
    return dumps(metadata)


def _html_file(
    filename: str,
    own: CoreMetadata | None,
    url: str,
    sha256: str | None,
    requires_python: str | None,
    yanked: str | bool,
) -> tuple[str, CoreMetadata | None, bytes, bytes]:
    """A file as ``PreparedPage.files`` holds it: its anchor, before and after its core
    metadata attributes."""
    # The digest is the upstream's text, never checked for being hex: escaped like the rest.
    href = escape(url) + (f"#sha256={escape(sha256)}" if sha256 else "")
    attrs = ""
    if requires_python:
        attrs += f'data-requires-python="{escape(requires_python)}" '
    if yanked is not False:
        attrs += f'data-yanked="{escape(yanked if isinstance(yanked, str) else "")}" '
    before = f'    <a href="{href}" {attrs}'
    return filename, own, before.encode(), f">{escape(filename)}</a><br />\n".encode()


def _fill_html(page: PreparedPage, name: str, serial: int, values: Mapping[str, Any]) -> bytes:
    parts = [_DETAIL_HEAD.format(version=API_VERSION, name=escape(name)).encode()]
    add = parts.extend  # joined once into the body, as ``_fill_json``
    for filename, own, before, after in page.files:
        add((before, _html_metadata(values.get(filename, own)), after))
    parts.append(_DETAIL_TAIL.format(serial=serial).encode())
    return b"".join(parts)


def _html_metadata(metadata: Any) -> bytes:
    if isinstance(metadata, dict) and metadata.get("sha256"):
        value = f"sha256={escape(metadata['sha256'])}"
        return f'data-dist-info-metadata="{value}" data-core-metadata="{value}"'.encode()
    if metadata is True:
        return b'data-dist-info-metadata="true" data-core-metadata="true"'
    return b""


_DETAIL_HTML = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta name="pypi:repository-version" content="{version}">
    <title>Links for {name}</title>
  </head>
  <body>
    <h1>Links for {name}</h1>
{links}  </body>
</html>
<!--SERIAL {serial}-->
"""
_DETAIL_HEAD, _DETAIL_TAIL = _DETAIL_HTML.split("{links}")

_INDEX_HTML = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta name="pypi:repository-version" content="{version}">
    <title>Simple index</title>
  </head>
  <body>
{links}  </body>
</html>
"""
