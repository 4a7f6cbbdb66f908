"""A miss's JSON API answer, rendered in one pass over the upstream's parsed document.

pypi.org's documents already have the form pkgdex serves. When every value of a project
document has exactly the type and form that pkgdex would store and render back unchanged, the
answer is built straight from the raw dicts, without pydantic's check and without the stored
rows' values (together several times the cost of rendering). It is byte for byte the answer
rendered later from the stored rows (tested in ``tests/unit/metadata/test_metadata_canonical.py``).
Anything else gives None and the miss takes the general path, whose check also gives malformed
documents their clear 502.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import product
from operator import itemgetter
from typing import Any

from packaging.utils import canonicalize_name

from pkgdex.metadata.documents import digests_too_long
from pkgdex.metadata.models import (
    BIGINT_MAX,
    DIGEST_MAX_LENGTHS,
    NAME_MAX_LENGTH,
    VERSION_MAX_LENGTH,
)
from pkgdex.metadata.queries import ProjectState, ProjectView, ReleaseRow
from pkgdex.metadata.render import Rendered, dumps, make_etag, release_info
from pkgdex.metadata.versions import (
    is_twin,
    newest_first,
    pick_latest_version,
    spelling_with_info,
)

Entry = dict[str, Any]
ReleaseState = tuple[bool, str | None, str | None]  # yanked, reason, requires-python
_by_filename = itemgetter("filename")


@dataclass(frozen=True)
class Canonical:
    """A project document in canonical form: its files already rendered."""

    info: dict[str, Any]
    display_name: str
    last_serial: int
    releases: dict[str, list[Any]]  # version -> file entries by filename
    states: dict[str, ReleaseState]
    # The release the project endpoint describes, when it was chosen while reading (None:
    # ``describe`` chooses it).
    latest: str | None = None


def read(data: Any, name: str) -> Canonical | None:
    """``data`` as a canonical project document for ``name`` (PEP 503), or None."""
    if type(data) is not dict:
        return None
    info: Any = data.get("info")
    releases: Any = data.get("releases")
    urls: Any = data.get("urls", [])
    serial: Any = data.get("last_serial", 0)
    if not info_ok(info, name) or type(releases) is not dict or type(urls) is not list:
        return None
    if type(serial) is not int or not 0 <= serial <= BIGINT_MAX:
        return None
    own = _release(urls)
    if own is None:
        return None
    rendered: dict[str, list[Entry]] = {}
    states = {}
    for version, files in releases.items():
        release = _release(files) if type(files) is list else None
        if release is None or not 0 < len(version) <= VERSION_MAX_LENGTH:
            return None
        rendered[version], states[version] = release
    version = info["version"]
    rendered.setdefault(version, own[0])
    yanked = info.get("yanked", False)
    reason = info.get("yanked_reason") if yanked else None
    states[version] = (yanked, reason, info.get("requires_python"))
    return Canonical(info, info["name"], serial, rendered, states)


def project_json(
    doc: Canonical, state: ProjectState, known_info: dict[str, dict[str, Any]]
) -> Rendered | None:
    """``/pypi/<project>/json`` of ``doc`` stored as ``state``; None when it has no release
    to describe or cannot be written (the general path answers both)."""
    described = describe(doc, state, known_info)
    if described is None:
        return None
    latest, info, derived = described
    try:
        body = dumps(
            {
                "info": info,
                "last_serial": doc.last_serial,
                "releases": doc.releases,
                "urls": doc.releases[latest],
                "vulnerabilities": [],
            }
        )
    except TypeError:  # an info nested too deep to write: the general path refuses it
        return None
    return Rendered(body, make_etag(body), doc.last_serial, derived)


def describe(
    doc: Canonical, state: ProjectState, known_info: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any], bool] | None:
    """The release ``/pypi/<project>/json`` describes, its rendered ``info`` and whether that
    was derived from another release's; None when there is no release."""
    infos = {**known_info, doc.info["version"]: doc.info}
    states = doc.states
    version = doc.latest or pick_latest_version({v: states[v][0] for v in doc.releases})
    if version is None:
        return None
    described, yanked = doc.info["version"], states[version][0]
    if version != described and is_twin(version, yanked, described, states[described][0]):
        version = described  # as ``pick_described`` chooses among spellings of one version
    elif version not in infos:
        known = ((v, states[v][0]) for v in infos if v in states)
        version = spelling_with_info(version, yanked, known) or version
    row = ReleaseRow(0, version, *states[version], infos.get(version), ())
    # A derived info copies the newest release's own: only releases with one need ordering,
    # and there are few of them (sorting hundreds of versions is not free).
    with_info = [ReleaseRow(0, v, *states[v], info, ()) for v, info in infos.items() if v in states]
    view = ProjectView(state, (row, *newest_first(with_info)))
    info, derived = release_info(view, row)
    return version, info, derived


def info_ok(info: Any, name: str) -> bool:
    """Whether ``info``'s values that pkgdex keeps in columns of their own are as stored."""
    if type(info) is not dict:
        return False
    display, version = info.get("name"), info.get("version")
    kept = [info.get(key) for key in ("summary", "yanked_reason", "requires_python")]
    return (
        type(display) is str
        and 0 < len(display) <= NAME_MAX_LENGTH
        and type(version) is str
        and 0 < len(version) <= VERSION_MAX_LENGTH
        and type(info.get("yanked", False)) is bool
        and all(map(_text, kept))
        and "\x00" not in "".join([display, version, *filter(None, kept)])  # as ``where_nul``
        and canonicalize_name(display) == name
    )


def may_hold_nul(body: bytes, start: int = 0, end: int | None = None) -> bool:
    """Whether JSON ``body`` (from ``start`` to ``end``) may write a NUL character: only the
    escape ``\\u0000`` writes one (the general check, ``documents.where_nul``, then says where,
    if anywhere). It is looked for only where there is an escape at all: a search for one
    byte is a memchr, one for six bytes read 700 KiB at 1.7 GB/s (0.4 ms)."""
    return body.find(b"\\", start, end) >= 0 and body.find(b"\\u0000", start, end) >= 0


def _release(files: list[Any]) -> tuple[list[Entry], ReleaseState] | None:
    """A release's file entries by filename and its state, or None if one is not canonical."""
    entries = []
    all_yanked, reason, requires = bool(files), None, None
    for f in files:
        entry = _entry(f) if type(f) is dict else None
        if entry is None:
            return None
        entries.append(entry)
        # pypi.org yanks whole releases, so every file carries the release's state.
        all_yanked = all_yanked and entry["yanked"]
        reason = reason or entry["yanked_reason"]
        requires = requires or entry["requires_python"]
    if len(entries) > 1:
        entries.sort(key=_by_filename)
    return entries, (all_yanked, reason if all_yanked else None, requires)


def _entry(f: dict[str, Any]) -> Entry | None:
    """The JSON API entry of a canonical file, as ``render.file_entry`` writes its row."""
    try:
        values = _pick(f)
    except KeyError:  # some left out: pydantic's defaults
        values = tuple(f.get(key, _DEFAULTS.get(key)) for key in _KEYS)
    if tuple(map(type, values)) not in _SIGNATURES:
        return None
    filename, url, packagetype, python_version, size, digests, yanked = values[:7]
    md5, reason, requires, comment, iso, plain = values[7:]
    if not (
        0 < len(filename) <= 512
        and url
        and len(packagetype) <= 32
        and len(python_version) <= 64
        and (size is None or 0 <= size <= BIGINT_MAX)
        and _TEXT.issuperset(map(type, digests.values()))
        and len(md5 or "") <= DIGEST_MAX_LENGTHS["md5"]
        and digests_too_long(digests) is None
        and _core_metadata_ok(f.get("core_metadata"))
    ):
        return None
    times = _times(iso, plain)
    if times is None:
        return None
    if _rendered_as_is(f, digests, md5, reason, requires) and times == (plain, iso):
        return f  # pypi.org's own entry: exactly what pkgdex writes for it
    md5 = digests.get("md5") or md5
    return {
        "comment_text": comment,
        "digests": {"blake2b_256": digests.get("blake2b_256"), "md5": md5,
                    "sha256": digests.get("sha256")},
        "downloads": -1,
        "filename": filename,
        "has_sig": False,
        "md5_digest": md5,
        "packagetype": packagetype,
        "python_version": python_version,
        "requires_python": requires or None,
        "size": size,
        "upload_time": times[0],
        "upload_time_iso_8601": times[1],
        "url": url,
        "yanked": yanked,
        "yanked_reason": reason or None,
    }  # fmt: skip


# A file's fields with the types a canonical one has (checked at once, as a tuple of types).
_KEYS = (
    "filename", "url", "packagetype", "python_version", "size", "digests", "yanked",
    "md5_digest", "yanked_reason", "requires_python", "comment_text",
    "upload_time_iso_8601", "upload_time",
)  # fmt: skip
_DEFAULTS: dict[str, Any] = {"packagetype": "", "python_version": "", "digests": {}}
_DEFAULTS["yanked"] = False
_pick = itemgetter(*_KEYS)
_NONE = type(None)
_TEXT = frozenset({str, _NONE})
_SIGNATURES = frozenset(
    product([str], [str], [str], [str], [int, _NONE], [dict], [bool], *[[str, _NONE]] * 6)
)


def _rendered_as_is(f: Entry, digests: Entry, md5: Any, reason: Any, requires: Any) -> bool:
    downloads = f.get("downloads")
    return (
        f.keys() == _ENTRY_KEYS
        and type(downloads) is int
        and downloads == -1
        and f["has_sig"] is False
        and digests.keys() == _DIGEST_KEYS
        and digests["md5"] == md5
        and reason != ""
        and requires != ""
    )


_ENTRY_KEYS = frozenset(_KEYS) | {"downloads", "has_sig"}
_DIGEST_KEYS = frozenset({"blake2b_256", "md5", "sha256"})


def _times(iso: Any, plain: Any) -> tuple[str | None, str | None] | None:
    """(``upload_time``, ``upload_time_iso_8601``) as rendered back, or None when not kept:
    only a UTC time with "Z" that pkgdex writes back out exactly as it came."""
    if iso is None and plain is None:
        return None, None
    if type(iso) is not str or iso[-1:] != "Z" or (plain is not None and plain != iso[:19]):
        return None
    try:
        stamp = datetime.fromisoformat(iso[:-1])
    except ValueError:
        return None
    if stamp.tzinfo is not None or stamp.isoformat() != iso[:-1]:
        return None
    return iso[:19], iso


def _text(value: Any) -> bool:
    return value is None or type(value) is str


def _core_metadata_ok(value: Any) -> bool:
    if value is None or type(value) is bool:
        return True
    return type(value) is dict and all(type(v) is str for v in value.values())
