"""The values a checked document stores, built without the database.

A miss answers from the :class:`ProjectView` built here while the same values are written
behind the answer; the rows written and the view read back from them are equal to it (tested
in ``tests/unit/metadata/test_metadata_services.py``), so the first answer and every later
one are byte for byte the same.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pkgdex.metadata.documents import FileDoc, PyPIDocument
from pkgdex.metadata.queries import FOUND, FileRow, ProjectState, ProjectView, ReleaseRow
from pkgdex.metadata.versions import newest_first

ReleaseState = tuple[bool, str | None, str | None]  # yanked, yanked reason, requires-python
# filename -> (sha256, core metadata) known from before, for files the document has it not
Carried = dict[str, tuple[str | None, Any]]
Unknown = list[tuple[str, str | None]]  # files whose core metadata is unknown: name, sha256


def releases_of(doc: PyPIDocument) -> dict[str, list[FileDoc]]:
    """Every release of a project document, the info's own included even when unlisted."""
    assert doc.releases is not None, "a project document"
    releases = dict(doc.releases)
    releases.setdefault(doc.info.version, list(doc.urls))
    return releases


def release_state(version: str, files: list[FileDoc], doc: PyPIDocument) -> ReleaseState:
    if version == doc.info.version:
        info = doc.info
        return info.yanked, info.yanked_reason if info.yanked else None, info.requires_python
    # pypi.org yanks whole releases, so every file carries the release's state.
    yanked = bool(files) and all(f.yanked for f in files)
    reason = next((f.yanked_reason for f in files if f.yanked_reason), None)
    requires = next((f.requires_python for f in files if f.requires_python), None)
    return yanked, reason if yanked else None, requires


def core_metadata(f: FileDoc, carried: Carried) -> Any:
    """The document's core metadata for ``f``, else what was known for the same file."""
    if f.core_metadata is not None or f.filename not in carried:
        return f.core_metadata
    sha256, known = carried[f.filename]
    return known if sha256 == f.digests.get("sha256") else None


def file_row(f: FileDoc, carried: Carried) -> FileRow:
    return FileRow(
        f.filename,
        f.packagetype,
        f.python_version,
        f.requires_python,
        f.size,
        f.uploaded_utc(),
        f.digests.get("md5") or f.md5_digest,
        f.digests.get("sha256"),
        f.digests.get("blake2b_256"),
        f.url,
        f.yanked,
        f.yanked_reason,
        f.comment_text,
        core_metadata(f, carried),
    )


def project_view(
    doc: PyPIDocument,
    state: ProjectState,
    known_info: dict[str, dict[str, Any]],
    release_ids: dict[str, int] | None = None,
    carried: Carried | None = None,
) -> ProjectView:
    """The view of project document ``doc`` as ``state``; ``known_info`` holds the releases'
    own infos fetched before (kept across refreshes), ``release_ids`` the stored row ids,
    ``carried`` the files' core metadata known before."""
    carried = carried or {}
    infos = {**known_info, doc.info.version: doc.info_raw}
    rows = []
    for version, files in releases_of(doc).items():
        yanked, reason, requires = release_state(version, files, doc)
        file_rows = sorted((file_row(f, carried) for f in files), key=lambda f: f.filename)
        release_id = 0 if release_ids is None else release_ids[version]
        info = infos.get(version)
        rows.append(
            ReleaseRow(release_id, version, yanked, reason, requires, info, tuple(file_rows))
        )
    return ProjectView(state, tuple(newest_first(rows)), doc.info.version)


def unknown_core_metadata(view: ProjectView) -> Unknown:
    """The files of ``view`` whose core metadata is not known yet."""
    files = [f for r in view.releases for f in r.files]
    return [(f.filename, f.sha256) for f in files if f.core_metadata is None]


def has_unknown_core_metadata(view: ProjectView) -> bool:
    """Whether some file of ``view`` has unknown core metadata (stops at the first one)."""
    return any(f.core_metadata is None for r in view.releases for f in r.files)


def with_core_metadata(view: ProjectView, values: dict[str, Any]) -> ProjectView:
    """``view`` with the core metadata in ``values`` (filename -> hashes, true or false) given
    to those files, as the rows hold it once it is stored."""
    # Rows built whole: NamedTuple's ``_replace`` cost 3 ms for 1,000 files.
    releases = tuple(
        ReleaseRow(
            *release[:-1],
            tuple(
                FileRow(*f[:-1], values[f.filename]) if f.filename in values else f
                for f in release.files
            ),
        )
        for release in view.releases
    )
    return replace(view, releases=releases)


def project_state(
    doc: PyPIDocument, *, project_id: int, fetched_at: float, etag: str | None, revision: str
) -> ProjectState:
    return ProjectState(
        project_id, doc.canonical_name, doc.info.name, FOUND, doc.last_serial, fetched_at, etag,
        revision,
    )  # fmt: skip
