"""The pypi.org JSON API shape, rendered from one stored project.

Field for field as warehouse's ``legacy/api/json.py`` writes it: sorted keys, the full ``info``
set with nulls, ``downloads`` -1 values, ``has_sig`` false, ``upload_time`` without a zone and
``upload_time_iso_8601`` with ``Z``, releases newest first (then sorted by key on output, as
pypi.org's renderer does), each release's files by filename.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import xxhash

from pkgdex.metadata.queries import FileRow, ProjectView, ReleaseRow

NO_DOWNLOADS = {"last_day": -1, "last_month": -1, "last_week": -1}
RELEASE_DEPENDENCIES = ("requires_dist", "provides_extra", "dynamic")
INFO_NULLS = (
    "author",
    "author_email",
    "bugtrack_url",
    "description",
    "description_content_type",
    "docs_url",
    "download_url",
    "dynamic",
    "home_page",
    "keywords",
    "license",
    "license_expression",
    "license_files",
    "maintainer",
    "maintainer_email",
    "platform",
    "project_urls",
    "provides_extra",
    "requires_dist",
    "requires_python",
    "summary",
)
PROJECT_PAGE = "https://pypi.org/project/"


GZIP_CLAIM_SECONDS = 10.0
_claims = threading.Lock()


@dataclass(frozen=True)
class Rendered:
    """A finished answer body with its validator, cached per project revision."""

    body: bytes
    etag: str
    last_serial: int
    derived_info: bool = False  # the release's own info was unknown (offline import)
    _gzipped: list[bytes] = field(default_factory=list, compare=False, repr=False)
    _claimed: list[float] = field(default_factory=list, compare=False, repr=False)

    @property
    def gzip_etag(self) -> str:
        return gzip_etag_of(self.etag)

    @property
    def has_gzip(self) -> bool:
        return bool(self._gzipped)

    def claim_gzip(self) -> bool:
        """Whether the caller is to make the gzip (``gzipped``) behind its answer: not when it
        is made or another caller claimed it lately, so a burst of requests for a new answer
        compresses it once rather than once each (7 ms of CPU for 700 KiB on a quiet host).
        A claim lapses after ``GZIP_CLAIM_SECONDS``, in case its work never ran."""
        if self._gzipped:
            return False
        now = time.monotonic()
        with _claims:
            if self._claimed and now - self._claimed[0] < GZIP_CLAIM_SECONDS:
                return False
            self._claimed[:] = [now]
        return True

    def gzipped(self) -> bytes:
        """The body compressed once, on first demand (a race compresses it twice, harmlessly)."""
        if not self._gzipped:
            self._gzipped.append(gzip_bytes(self.body))
        return self._gzipped[0]


def gzip_bytes(body: bytes) -> bytes:
    """``body`` as pkgdex gzips every answer: level 6, and no timestamp, so one body always
    makes the same bytes."""
    return gzip.compress(body, compresslevel=6, mtime=0)


def gzip_etag_of(etag: str) -> str:
    """The strong ETag of a gzip answer, from its plain one's: the gzip is another
    representation, so it needs its own."""
    return etag[:-1] + '-gz"'


def make_etag(body: bytes) -> str:
    # A validator needs no cryptographic hash, only one that changes with the body: XXH3's
    # 128 bits take 5 us for a 700 KiB document, where SHA-256 took 330 us of a miss's answer.
    return f'"{xxhash.xxh3_128_hexdigest(body)}"'


def dumps(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def project_json(view: ProjectView, release: ReleaseRow) -> Rendered:
    """``/pypi/<project>/json`` describing ``release``."""
    releases = {r.version: [file_entry(f) for f in r.files] for r in view.releases}
    info, derived = release_info(view, release)
    body = dumps(
        {
            "info": info,
            "last_serial": view.state.last_serial,
            "releases": releases,
            "urls": releases[release.version],
            "vulnerabilities": [],
        }
    )
    return Rendered(body, make_etag(body), view.state.last_serial, derived)


def release_json(view: ProjectView, release: ReleaseRow) -> Rendered:
    """``/pypi/<project>/<version>/json``: no ``releases`` key, as pypi.org answers."""
    info, derived = release_info(view, release)
    body = dumps(
        {
            "info": info,
            "last_serial": view.state.last_serial,
            "urls": [file_entry(f) for f in release.files],
            "vulnerabilities": [],
        }
    )
    return Rendered(body, make_etag(body), view.state.last_serial, derived)


def release_info(view: ProjectView, release: ReleaseRow) -> tuple[dict[str, Any], bool]:
    """The release's ``info`` with pypi.org's full field set; derived from another release's
    info (second value True) only when this release's own was never fetched (offline, or the
    upstream failing): the project's description, with this release's version, state and
    Python requirement, and its dependencies unknown (null)."""
    source = release.info
    derived = source is None
    if source is None:
        source = next((r.info for r in view.releases if r.info is not None), None) or {}
    # The project's name as it is now, as warehouse takes it from the project: a release
    # document stored before a rename still carries the old one.
    name = view.state.display_name or str(source.get("name"))
    info: dict[str, Any] = dict.fromkeys(INFO_NULLS)
    info.update(source)
    info.update(
        name=name,
        version=release.version,
        classifiers=list(source.get("classifiers") or []),
        downloads=dict(NO_DOWNLOADS),
        yanked=release.yanked,
        yanked_reason=release.yanked_reason or None,
    )
    info.setdefault("package_url", f"{PROJECT_PAGE}{view.state.name}/")
    info.setdefault("project_url", f"{PROJECT_PAGE}{view.state.name}/")
    if derived or "release_url" not in source:
        info["release_url"] = f"{PROJECT_PAGE}{view.state.name}/{release.version}/"
    if derived:
        info["requires_python"] = release.requires_python
        # Another release's dependencies are not this one's: unknown is null, as pypi.org
        # gives it for uploads without metadata, so installers read the files themselves
        # instead of resolving against the wrong list.
        info.update(dict.fromkeys(RELEASE_DEPENDENCIES))
    return info, derived


def file_entry(f: FileRow) -> dict[str, Any]:
    return {
        "comment_text": f.comment_text,
        "digests": {"blake2b_256": f.blake2b_256, "md5": f.md5, "sha256": f.sha256},
        "downloads": -1,
        "filename": f.filename,
        "has_sig": False,
        "md5_digest": f.md5,
        "packagetype": f.packagetype,
        "python_version": f.python_version,
        "requires_python": f.requires_python or None,
        "size": f.size,
        "upload_time": _plain_time(f.upload_time),
        "upload_time_iso_8601": _iso_time(f.upload_time),
        "url": f.url,
        "yanked": f.yanked,
        "yanked_reason": f.yanked_reason or None,
    }


def _plain_time(stamp: datetime | None) -> str | None:
    # isoformat() starts with exactly strftime("%Y-%m-%dT%H:%M:%S"), and is several times faster.
    return None if stamp is None else stamp.isoformat()[:19]


def _iso_time(stamp: datetime | None) -> str | None:
    return None if stamp is None else stamp.isoformat() + "Z"
