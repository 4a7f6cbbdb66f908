"""A miss's JSON API answer straight from the upstream's bytes, when the document already has
exactly the form pkgdex serves.

pypi.org writes every file entry the way ``render.file_entry`` writes it back. msgspec decodes
such a document into typed structs, checking types and lengths in C while it parses: no Python
dict per file, and no Python check of each field. Only what a type cannot say is checked here:
in one short loop per file (``has_sig`` false, ``md5_digest`` equal to the md5 digest, the
plain upload time equal to the ISO one), then the ISO times' form, days that exist included,
in one pattern match over them all (``times_ok``).

The answer's ``releases`` are the upstream's own bytes for them when pypi.org already wrote
them as pkgdex would (versions and each release's files in order, the described release
among them): their values are exactly the checked ones, so encoding them again would only
copy them. Otherwise msgspec encodes the checked structs. Either way every value that passes
renders as the rows stored from the checked document do, byte for byte for pypi.org's compact
sorted form and value for value for any other writing of the same JSON (tested in
``tests/unit/metadata/test_metadata_canonical.py``). Anything else (a field missing or
unknown, ``core_metadata`` given, an extra digest, a time with an offset, ``""`` where pkgdex
writes null, ...) gives None, and the miss takes the slower paths: ``canonical`` for documents
it can still render as they are, the general check for the rest, with its clear 502 for
malformed ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Annotated, Any, Literal, Protocol

import msgspec
import orjson
from msgspec import UNSET, Meta, Raw, Struct, UnsetType

from pkgdex.metadata import canonical
from pkgdex.metadata.documents import FILE_TEXTS
from pkgdex.metadata.models import BIGINT_MAX, DIGEST_MAX_LENGTHS, VERSION_MAX_LENGTH
from pkgdex.metadata.queries import FileRow, ProjectState, ProjectView, ReleaseRow
from pkgdex.metadata.render import Rendered, make_etag
from pkgdex.metadata.versions import SortKey, newest_first, pick_latest_version, sort_keys

# The only upload times pkgdex writes back unchanged: UTC with "Z", and microseconds only
# when there are some (``datetime.isoformat``), on a day that exists (the 29th of February
# only in leap years). Matched once over all of a document's times rather than as a msgspec
# ``Meta(pattern=...)`` (msgspec calls the pattern through the interpreter for each value,
# which cost nearly half of decoding a 500-release document) or once per file (a third of
# ``_release``'s loop).
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)"
_DAY = (
    r"(?!0000)(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    rf"|{_LEAP_YEAR}-02-29)"
)
_ISO = rf"{_DAY}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.(?!000000)[0-9]{{6}})?Z"
_ISO_TIMES = re.compile(rf"(?:{_ISO}\n)*{_ISO}").fullmatch  # times joined by newlines
Text = Annotated[str, Meta(min_length=1)]  # "" would be rendered back as null
Version = Annotated[str, Meta(min_length=1, max_length=VERSION_MAX_LENGTH)]


class Digests(Struct, forbid_unknown_fields=True, gc=False):
    """Exactly the three digests pkgdex stores: another one is checked by the general path."""

    blake2b_256: Annotated[str, Meta(max_length=DIGEST_MAX_LENGTHS["blake2b_256"])] | None
    md5: Annotated[str, Meta(max_length=DIGEST_MAX_LENGTHS["md5"])] | None
    sha256: Annotated[str, Meta(max_length=DIGEST_MAX_LENGTHS["sha256"])] | None


class File(Struct, gc=False, omit_defaults=True, forbid_unknown_fields=True):
    """A file entry as ``render.file_entry`` writes it; every rendered field is required."""

    comment_text: str | None
    digests: Digests
    downloads: Literal[-1]
    filename: Annotated[str, Meta(min_length=1, max_length=512)]
    has_sig: bool
    md5_digest: str | None
    packagetype: Annotated[str, Meta(max_length=32)]
    python_version: Annotated[str, Meta(max_length=64)]
    requires_python: Text | None
    size: Annotated[int, Meta(ge=0, le=BIGINT_MAX)] | None
    upload_time: str | None
    upload_time_iso_8601: str | None  # its form is checked by ``times_ok``
    url: Annotated[str, Meta(min_length=1)]
    yanked: bool
    yanked_reason: Text | None
    # Stored, never rendered: given at all, even as null, the answer could not be these bytes.
    core_metadata: UnsetType = UNSET


class Document(Struct, gc=False, forbid_unknown_fields=True):
    """pypi.org's top-level keys and no others: msgspec only skips over an unknown field, so a
    value in one that no parser accepts (``1e400``) would pass here and fail the store."""

    info: dict[str, Any]
    releases: Raw  # decoded by ``RELEASES``, and kept as sent to be answered as it came
    last_serial: Annotated[int, Meta(ge=0, le=BIGINT_MAX)] = 0
    urls: list[File] = []
    vulnerabilities: list[Any] = []  # pkgdex answers its own; decoded so every value is checked


class Body(Struct, gc=False):
    """``/pypi/<project>/json``; encoded with sorted fields, as ``render.dumps`` sorts keys."""

    info: Raw
    last_serial: int
    releases: dict[str, list[File]] | Raw
    urls: list[File]
    vulnerabilities: list[Any]


@dataclass(frozen=True)
class Exact(canonical.Canonical):
    """A canonical document decoded by msgspec, with the upstream's bytes of its ``releases``
    when they can be answered as they came (None when they must be encoded again), and the
    sort keys of the versions ordered while they arrived (``Releases.keys``)."""

    releases_as_sent: Raw | None = None
    sort_keys: dict[str, SortKey] | None = None


_decoder = msgspec.json.Decoder(Document)
RELEASES = msgspec.json.Decoder(dict[Version, list[File]])  # version -> files, checked
_encoder = msgspec.json.Encoder(order="sorted")
_by_filename = attrgetter("filename")


class Arrived(Protocol):
    """What was checked of a document while its body arrived (``arriving.Arriving``)."""

    def finish(self, body: bytes) -> tuple[bytes, Releases, int, int] | None: ...


@dataclass
class Releases:
    """A document's releases as they are checked, a batch of whole releases at a time."""

    files: dict[str, list[File]] = field(default_factory=dict)
    states: dict[str, canonical.ReleaseState] = field(default_factory=dict)
    in_order: bool = True  # every release's files came in filename order
    newest: str | None = None  # the newest release not yanked, in ``pick_latest``'s order
    # Each version's sort key, made as its batch is checked, when a Simple page, which lists
    # the files in version order, waits for the document (None: not made).
    keys: dict[str, SortKey] | None = None

    def add(self, batch: dict[str, list[File]]) -> bool:
        """Check ``batch`` (version -> files) and keep it; False if one is not exact."""
        times: list[str] = []
        states = self.states
        live = [] if self.newest is None else [self.newest]
        for version, files in batch.items():
            state = _release(files, times)
            if state is None:
                return False
            states[version], in_order = state
            self.in_order = self.in_order and in_order
            if not state[0][0]:
                live.append(version)
        if self.files:
            self.files.update(batch)  # a version given twice keeps its last files, as JSON does
        else:
            self.files = batch
        # The newest of all is the newest of each batch's newest: chosen batch by batch, so
        # that releases checked as they arrive leave little choosing for the end.
        self.newest = pick_latest_version(dict.fromkeys(live, False))
        if self.keys is not None:
            self.keys.update(sort_keys(batch))
        return times_ok(times)


def read(body: bytes, name: str, arrived: Arrived | None = None) -> Exact | None:
    """The upstream's ``body`` as an exact project document for ``name`` (PEP 503), or None.
    ``arrived``: its releases, checked while the body arrived (else they are checked now)."""
    decoded = None if arrived is None else _decode_arrived(body, arrived)
    if decoded is None:
        decoded = _decode(body)
        if decoded is None:
            return None
    doc, checked, sent = decoded
    info = doc.info
    times: list[str] = []
    if not canonical.info_ok(info, name) or _release(doc.urls, times) is None:
        return None
    if any(map(_holds_nul, doc.urls)):  # a few files: checked value by value
        return None
    if not times_ok(times):
        return None
    releases, states = checked.files, checked.states
    version = info["version"]
    as_sent = checked.in_order
    listed = states.get(version)
    if version not in releases:
        releases[version], as_sent = doc.urls, False
    as_sent = as_sent and _in_order(list(releases))
    yanked = info.get("yanked", False)
    reason = info.get("yanked_reason") if yanked else None
    states[version] = (yanked, reason, info.get("requires_python"))
    kept = sent if as_sent else None
    latest = _latest(checked.newest, version, yanked, listed is not None and not listed[0])
    return Exact(info, info["name"], doc.last_serial, releases, states, latest, kept, checked.keys)


def _latest(newest: str | None, described: str, yanked: bool, was_live: bool) -> str | None:
    """The newest live release, now that ``info`` has said whether the release it describes
    is ``yanked``; None when it must be chosen among all (none is live, or ``info`` yanked
    a release its files did not, which may have been the newest)."""
    if not yanked:
        return pick_latest_version(dict.fromkeys((described, newest or described), False))
    return None if was_live else newest


def _decode(body: bytes) -> tuple[Document, Releases, Raw] | None:
    """The whole document decoded and its releases checked, here and now; None also when
    they may hold a NUL character, which no stored column can (``documents.where_nul``)."""
    try:
        doc = _decoder.decode(body)
        batch = RELEASES.decode(doc.releases)
    # msgspec's errors, UnicodeDecodeError for bytes that are not UTF-8, and a value nested
    # past the interpreter's depth: the general path's parse gives each its clear 502.
    except (ValueError, RecursionError):
        return None
    if canonical.may_hold_nul(bytes(doc.releases)):
        return None
    checked = Releases()
    return (doc, checked, doc.releases) if checked.add(batch) else None


def _decode_arrived(body: bytes, arrived: Arrived) -> tuple[Document, Releases, Raw] | None:
    """The document around releases checked as they arrived: only the rest is decoded here
    (the releases' place holds ``{}``, so the decoder does not scan their bytes again).
    None also when the releases may hold a NUL, as in ``_decode``."""
    parts = arrived.finish(body)
    if parts is None:
        return None
    rest, checked, start, end = parts
    if canonical.may_hold_nul(body, start, end):
        return None
    try:
        doc = _decoder.decode(rest)
    except (ValueError, RecursionError):
        return None
    if bytes(doc.releases) != b"{}":
        return None
    return doc, checked, Raw(memoryview(body)[start:end])


def project_json(
    doc: Exact, state: ProjectState, known_info: dict[str, dict[str, Any]]
) -> Rendered | None:
    """``/pypi/<project>/json`` of an exact ``doc`` stored as ``state``; None when it has no
    release to describe or its info cannot be rendered (the general path answers both)."""
    described = canonical.describe(doc, state, known_info)
    if described is None:
        return None
    latest, info, derived = described
    try:
        info_json = orjson.dumps(info, option=orjson.OPT_SORT_KEYS)  # as the stored info is
    except TypeError:  # an integer past 64 bits: the general path refuses the document
        return None
    releases = doc.releases if doc.releases_as_sent is None else doc.releases_as_sent
    body = _encoder.encode(
        Body(Raw(info_json), doc.last_serial, releases, doc.releases[latest], [])
    )
    return Rendered(body, make_etag(body), doc.last_serial, derived)


def project_view(
    doc: Exact, state: ProjectState, known_info: dict[str, dict[str, Any]]
) -> ProjectView:
    """The view of ``doc`` stored as ``state``, as ``views.project_view`` builds it from the
    same document checked by pydantic (equal, tested): every value here passed the stricter
    check already, so the rows are made without a second one."""
    infos = {**known_info, doc.info["version"]: doc.info}
    states = doc.states
    rows = [
        ReleaseRow(0, version, *states[version], infos.get(version), tuple(map(_row, files)))
        for version, files in doc.releases.items()
    ]
    return ProjectView(state, tuple(newest_first(rows)), doc.info["version"])


def _row(f: File) -> FileRow:
    """``f``'s stored row: an exact file's md5 is its digests' and its times are UTC "Z"."""
    iso, digests = f.upload_time_iso_8601, f.digests
    return FileRow(
        f.filename,
        f.packagetype,
        f.python_version,
        f.requires_python,
        f.size,
        None if iso is None else datetime.fromisoformat(iso[:-1]),
        digests.md5,
        digests.sha256,
        digests.blake2b_256,
        f.url,
        f.yanked,
        f.yanked_reason,
        f.comment_text,
        None,  # an exact file has no core metadata of its own; the Simple page learns it
    )


def _release(files: list[File], times: list[str]) -> tuple[canonical.ReleaseState, bool] | None:
    """The release's state and whether its files came in filename order (they are sorted so
    now); None if one is not written back exactly as it came. Its ISO upload times are added
    to ``times``, for ``times_ok``."""
    all_yanked, reason, requires = bool(files), None, None
    last, in_order = "", True
    for f in files:
        iso = f.upload_time_iso_8601
        if iso is None:
            if f.upload_time is not None:
                return None
        elif f.upload_time != iso[:19]:
            return None
        else:
            times.append(iso)
        if f.has_sig or f.md5_digest != f.digests.md5:
            return None
        # pypi.org yanks whole releases, so every file carries the release's state.
        all_yanked = all_yanked and f.yanked
        reason = reason or f.yanked_reason
        requires = requires or f.requires_python
        in_order = in_order and last <= f.filename
        last = f.filename
    if not in_order:
        files.sort(key=_by_filename)
    return (all_yanked, reason if all_yanked else None, requires), in_order


# The texts the general check looks through (its md5 digest is the file's ``md5_digest``).
_stored_text = attrgetter(*FILE_TEXTS, "digests.sha256", "digests.blake2b_256")


def _holds_nul(f: File) -> bool:
    """Whether a value of ``f`` stored in a column of its own holds a NUL character."""
    return "\x00" in "".join(filter(None, _stored_text(f)))


def _in_order(versions: list[str]) -> bool:
    """Whether the versions came as msgspec writes a dict's keys (sorted; a sorted list is one
    pass for ``sorted``)."""
    return versions == sorted(versions)


def times_ok(times: list[str]) -> bool:
    """Whether every ISO upload time has the one form pkgdex writes back, checked in one
    match over them all (a newline inside one would show in the count)."""
    if not times:
        return True
    joined = "\n".join(times)
    return joined.count("\n") == len(times) - 1 and _ISO_TIMES(joined) is not None
