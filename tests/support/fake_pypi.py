"""A fake pypi.org served on loopback, for the metadata tests and benchmarks.

It answers ``/pypi/<name>/json`` and ``/pypi/<name>/<version>/json`` with documents shaped
exactly like pypi.org's (sorted keys, the full ``info`` field set, ``downloads`` -1 values,
``upload_time`` without zone and ``upload_time_iso_8601`` with ``Z``), built from
:class:`Project`. A project made with ``real_files`` has real distributions
(:mod:`support.fake_dists`), served under ``/packages/`` whatever the fault, so that an
installer can fetch what the documents describe. Faults are switched on per test: ``slow``,
``status`` (e.g. 500), ``malformed``, ``huge`` (2 GB announced), ``huge-chunked`` (2 GB
streamed with no length), ``drip`` (a byte at a time), ``drip-stall`` (a few bytes, then
silence), and :func:`refused_url` gives an address nobody listens on.

``/simple/<name>/`` answers the project's PEP 691 JSON page, which alone says which wheels
have their core metadata served beside them (``<file URL>.metadata``, PEP 658/714), as on
pypi.org; ``simple_answer`` replaces that page for tests of what a bad one does.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import orjson
from packaging.utils import canonicalize_name, canonicalize_version
from packaging_legacy.version import parse as legacy_parse

from support.fake_dists import Dist, build_sdist, build_wheel, file_digests

FILES_HOST = "https://files.example.org/packages"
TWO_GB = 2 * 1024**3
PACKAGES_PATH = "/packages"  # where the fake serves real files, as files.pythonhosted.org


@dataclass
class ReleaseSpec:
    version: str
    yanked: bool = False
    yanked_reason: str | None = None
    files: int = 2  # an sdist, then wheels
    requires_python: str | None = ">=3.8"


def _digests(name: str) -> dict[str, str]:
    raw = name.encode()
    return {
        "blake2b_256": hashlib.blake2b(raw, digest_size=32).hexdigest(),
        "md5": hashlib.md5(raw, usedforsecurity=False).hexdigest(),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }


def _file(name: str, release: ReleaseSpec, index: int, uploaded: datetime) -> dict[str, Any]:
    stem = f"{canonicalize_name(name).replace('-', '_')}-{release.version}"
    if index == 0:
        filename, packagetype, python_version = f"{stem}.tar.gz", "sdist", "source"
    else:
        filename, packagetype, python_version = f"{stem}-py3-none-any.whl", "bdist_wheel", "py3"
        if index > 1:
            filename = f"{stem}-cp3{index}-cp3{index}-manylinux1_x86_64.whl"
            python_version = f"cp3{index}"
    digests = _digests(filename)
    blake = digests["blake2b_256"]
    path = f"{blake[:2]}/{blake[2:4]}/{blake[4:]}"
    size = 1000 + len(filename) * 37 + index
    dist = Dist(filename, packagetype, python_version, b"")
    return _entry(dist, digests, size, f"{FILES_HOST}/{path}/{filename}", release, uploaded)


def core_metadata_of(filename: str) -> bytes | None:
    """The core metadata a name-only file has beside it: a wheel's, none for an sdist."""
    if not filename.endswith(".whl"):
        return None
    name, version = filename.split("-")[:2]
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()


def simple_file(entry: dict[str, Any], core_metadata: bytes | None) -> dict[str, Any]:
    """A JSON API file entry as pypi.org's PEP 691 page lists it."""
    value: dict[str, str] | bool = False
    if core_metadata is not None:
        value = {"sha256": hashlib.sha256(core_metadata).hexdigest()}
    return {
        "core-metadata": value,
        "data-dist-info-metadata": value,
        "filename": entry["filename"],
        "hashes": {"sha256": entry["digests"]["sha256"]},
        "requires-python": entry["requires_python"],
        "size": entry["size"],
        "upload-time": entry["upload_time_iso_8601"],
        "url": entry["url"],
        "yanked": (entry["yanked_reason"] or True) if entry["yanked"] else False,
    }


def _real_file(dist: Dist, host: str, release: ReleaseSpec, uploaded: datetime) -> dict[str, Any]:
    digests = file_digests(dist.content)
    url = f"{host}/{dist.filename}"
    return _entry(dist, digests, len(dist.content), url, release, uploaded)


def _entry(
    dist: Dist,
    digests: dict[str, str],
    size: int,
    url: str,
    release: ReleaseSpec,
    uploaded: datetime,
) -> dict[str, Any]:
    return {
        "comment_text": "",
        "digests": digests,
        "downloads": -1,
        "filename": dist.filename,
        "has_sig": False,
        "md5_digest": digests["md5"],
        "packagetype": dist.packagetype,
        "python_version": dist.python_version,
        "requires_python": release.requires_python,
        "size": size,
        "upload_time": uploaded.strftime("%Y-%m-%dT%H:%M:%S"),
        "upload_time_iso_8601": uploaded.replace(tzinfo=None).isoformat() + "Z",
        "url": url,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason if release.yanked else None,
    }


def _info(name: str, release: ReleaseSpec) -> dict[str, Any]:
    canonical = canonicalize_name(name)
    return {
        "author": "A. Author",
        "author_email": "author@example.org",
        "bugtrack_url": None,
        "classifiers": [
            "Programming Language :: Python :: 3",
            "License :: OSI Approved :: MIT License",
        ],
        "description": f"# {name}\n\nRelease {release.version}.\n",
        "description_content_type": "text/markdown",
        "docs_url": None,
        "download_url": "",
        "downloads": {"last_day": -1, "last_month": -1, "last_week": -1},
        "dynamic": None,
        "home_page": "",
        "keywords": "sample, fixture",
        "license": None,
        "license_expression": "MIT",
        "license_files": ["LICENSE"],
        "maintainer": None,
        "maintainer_email": None,
        "name": name,
        "package_url": f"https://pypi.org/project/{canonical}/",
        "platform": None,
        "project_url": f"https://pypi.org/project/{canonical}/",
        "project_urls": {"Homepage": f"https://example.org/{canonical}"},
        "provides_extra": None,
        "release_url": f"https://pypi.org/project/{canonical}/{release.version}/",
        "requires_dist": ["idna>=2.5", f"extra-dep>=1; extra == 'full' and '{release.version}'"],
        "requires_python": release.requires_python,
        "summary": f"{name} summary for {release.version}",
        "version": release.version,
        "yanked": release.yanked,
        "yanked_reason": release.yanked_reason if release.yanked else None,
    }


def _order_key(version: str) -> Any:
    """Warehouse's ``_pypi_ordering``: ``packaging_legacy`` puts versions that are not PEP 440
    below every valid one, in setuptools' old order."""
    return legacy_parse(version)


def pick_latest(releases: list[ReleaseSpec]) -> ReleaseSpec:
    """What pypi.org describes at /pypi/<name>/json: ``Project.latest_version`` orders by
    ``yanked``, then ``is_prerelease`` (false for legacy versions), then ``_pypi_ordering``."""

    def key(r: ReleaseSpec) -> tuple[bool, bool, Any]:
        parsed = _order_key(r.version)
        return (not r.yanked, not parsed.is_prerelease, parsed)

    return max(releases, key=key)


@dataclass
class Project:
    """A project on the fake. With ``real_files``, a release's files (``files``: 1 an sdist,
    2 an sdist and a pure wheel) are real distributions that the fake serves under
    ``files_host``, which :class:`FakePyPI` points at itself; otherwise they are names only."""

    name: str
    releases: list[ReleaseSpec]
    last_serial: int = 1000
    start: datetime = field(default_factory=lambda: datetime(2020, 1, 1, 12, 0, 0, tzinfo=UTC))
    real_files: bool = False
    files_host: str = FILES_HOST
    _built: dict[str, list[Dist]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def files(self) -> dict[str, list[dict[str, Any]]]:
        ordered = sorted(self.releases, key=lambda r: _order_key(r.version))
        out: dict[str, list[dict[str, Any]]] = {}
        for position, release in enumerate(ordered):
            uploaded = self.start + timedelta(days=position, microseconds=position * 7)
            files = [
                self._file(release, i, uploaded + timedelta(seconds=i))
                for i in range(release.files)
            ]
            out[release.version] = sorted(files, key=lambda f: f["filename"])
        return out

    def _file(self, release: ReleaseSpec, index: int, uploaded: datetime) -> dict[str, Any]:
        if not self.real_files:
            return _file(self.name, release, index, uploaded)
        return _real_file(self.dists(release)[index], self.files_host, release, uploaded)

    def dists(self, release: ReleaseSpec) -> list[Dist]:
        """The release's real files, built once: the same bytes behind every document."""
        if release.files > 2:
            raise ValueError("a release has at most an sdist and one wheel as real files")
        if release.version not in self._built:
            args = (self.name, release.version, release.requires_python)
            self._built[release.version] = [build_sdist(*args), build_wheel(*args)]
        return self._built[release.version][: release.files]

    def served_files(self) -> dict[str, bytes]:
        """Filename to bytes, for every real file of the project and its core metadata."""
        if not self.real_files:
            return {}
        served = {}
        for release in self.releases:
            for dist in self.dists(release):
                served[dist.filename] = dist.content
                if dist.core_metadata is not None:
                    served[f"{dist.filename}.metadata"] = dist.core_metadata
        return served

    def core_metadata(self, filename: str, served: dict[str, bytes] | None = None) -> bytes | None:
        """``served``: the project's ``served_files()``, when the caller already has them."""
        if not self.real_files:
            return core_metadata_of(filename)
        served = self.served_files() if served is None else served
        return served.get(f"{filename}.metadata")

    def simple_page(self) -> dict[str, Any]:
        """The project's PEP 691 JSON page, as pypi.org writes it."""
        releases = self.files()
        served = self.served_files()  # once for the page, not once per file
        files = [
            simple_file(f, self.core_metadata(f["filename"], served))
            for version_files in releases.values()
            for f in version_files
        ]
        return {
            "files": files,
            "meta": {"_last-serial": self.last_serial, "api-version": "1.1"},
            "name": canonicalize_name(self.name),
            # warehouse's ``_simple_detail``: the versions of the files listed
            "versions": [version for version, files in releases.items() if files],
        }

    def doc(self) -> dict[str, Any]:
        files = self.files()
        latest = pick_latest(self.releases)
        return {
            "info": _info(self.name, latest),
            "last_serial": self.last_serial,
            "releases": files,
            "urls": files[latest.version],
            "vulnerabilities": [],
        }

    def version_doc(self, version: str) -> dict[str, Any] | None:
        wanted = canonicalize_version(version)
        matches = [r for r in self.releases if canonicalize_version(r.version) == wanted]
        if len(matches) != 1:
            matches = [r for r in matches if r.version == version]
        if not matches:
            return None
        release = matches[0]
        return {
            "info": _info(self.name, release),
            "last_serial": self.last_serial,
            "urls": self.files()[release.version],
            "vulnerabilities": [],
        }


def big_project(name: str = "big-project", count: int = 500, first_major: int = 0) -> Project:
    """Hundreds of releases, with pre-releases and yanked releases among them. Versions start
    at ``first_major``: projects made with majors far enough apart share no version string,
    as unrelated projects mostly do, so a server parses each one's versions afresh."""
    releases: list[ReleaseSpec] = []
    for i in range(count):
        major, minor = divmod(i, 20)
        major += first_major
        version = f"{major}.{minor}.0"
        if i % 25 == 3:
            version = f"{major}.{minor}.0rc1"
        yanked = i % 40 == 7
        releases.append(ReleaseSpec(version, yanked=yanked, yanked_reason="broken wheel"))
    return Project(name, releases, last_serial=987654)


def fresh_major(nth: int) -> int:
    """A ``first_major`` for the ``nth`` of several 500-release projects that share no version."""
    return 100 + 25 * nth


def standard_projects() -> list[Project]:
    return [
        Project(
            "sampleproject",
            [
                ReleaseSpec("1.0.0"),
                ReleaseSpec("2.0.0", files=3),
                ReleaseSpec("3.0.0"),
                ReleaseSpec("3.1.0", yanked=True, yanked_reason="bad metadata"),
                ReleaseSpec("4.0.0b1"),
                ReleaseSpec("0.9", files=0),
            ],
            last_serial=100,
        ),
        Project("Zope.Interface_Extra", [ReleaseSpec("5.1"), ReleaseSpec("5.2.dev0")], 200),
        Project("only-pre", [ReleaseSpec("1.0a1"), ReleaseSpec("1.0b2")], 300),
        Project("all-yanked", [ReleaseSpec("1.0", yanked=True), ReleaseSpec("1.1", yanked=True)]),
        big_project(),
    ]


GATE_SECONDS = 30.0


def sorted_json(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


class FakePyPI:
    """A threaded HTTP server on 127.0.0.1 playing pypi.org; use it as a context manager."""

    def __init__(self, projects: list[Project] | None = None) -> None:
        self.projects: dict[str, Project] = {}
        self.requests: Counter[str] = Counter()
        self.fault: str | None = None
        self.fault_status = 500
        # The "redirect" fault's target: another server's URL, or this one's + "/moved".
        self.redirect_to = ""
        self.delay = 0.0  # added to every answer: the upstream's own latency
        # When set, answers wait until it opens (at most GATE_SECONDS): a test decides when
        # the upstream answers, instead of guessing how long its own requests take to arrive.
        self.gate: threading.Event | None = None
        # (bytes, seconds): answers go out in pieces this long, this far apart, as over a
        # link of finite speed (loopback hands over a whole body at once).
        self.pace: tuple[int, float] | None = None
        self.slow_seconds = 5.0
        self.not_modified = 0  # conditional requests answered 304
        self.etag_padding = 0  # characters added to every ETag: one longer than any column
        # Real files served with their last byte changed: an installer must refuse them.
        self.tampered: set[str] = set()
        # (status, body) answered for every PEP 691 page instead of the project's own.
        self.simple_answer: tuple[int, bytes] | None = None
        # How each JSON API document is written: a test's own writer gives it odd values.
        self.write: Callable[[dict[str, Any]], bytes] = sorted_json
        # Each answer made once and then handed over as stored bytes, as a registry's CDN does:
        # for benchmarks, where making a 500-release document anew (in this process, under
        # one interpreter lock) would weigh more than the registry's real work. Tests change
        # projects between requests, so they leave it off.
        self.stored_answers = False
        self._answers: dict[str, tuple[int, bytes]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))
        for project in projects or standard_projects():
            self.add(project)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakePyPI:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, project: Project) -> None:
        if project.real_files:
            project.files_host = f"{self.url}{PACKAGES_PATH}"
        self.projects[canonicalize_name(project.name)] = project

    def file_bytes(self, filename: str) -> bytes | None:
        for project in self.projects.values():
            content = project.served_files().get(filename)
            if content is not None:
                return content
        return None

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests[path]

    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def _record(self, path: str) -> None:
        with self._lock:
            self.requests[path] += 1

    def answer(self, path: str) -> tuple[int, bytes]:
        if not self.stored_answers:
            return self._answer(path)
        with self._lock:
            kept = self._answers.get(path)
        if kept is None:
            kept = self._answer(path)
            with self._lock:
                self._answers[path] = kept
        return kept

    def _answer(self, path: str) -> tuple[int, bytes]:
        simple = re.fullmatch(r"/simple/([^/]+)/", path)
        if simple:
            return self._simple_answer(unquote(simple[1]))
        match = re.fullmatch(r"/pypi/([^/]+)/(?:([^/]+)/)?json/?", path)
        if not match:
            return 404, b'{"message": "Not Found"}'
        project = self.projects.get(canonicalize_name(unquote(match[1])))
        if project is None:
            return 404, b'{"message": "Not Found"}'
        doc = project.doc() if match[2] is None else project.version_doc(unquote(match[2]))
        if doc is None:
            return 404, b'{"message": "Not Found"}'
        return 200, self.write(doc)

    def _simple_answer(self, name: str) -> tuple[int, bytes]:
        if self.simple_answer is not None:
            return self.simple_answer
        project = self.projects.get(canonicalize_name(name))
        if project is None:
            return 404, b'{"message": "Not Found"}'
        return 200, orjson.dumps(project.simple_page(), option=orjson.OPT_SORT_KEYS)


def _handler(fake: FakePyPI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes: without this, Nagle's algorithm and
            # delayed ACKs add ~40 ms to every keep-alive answer.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_GET(self) -> None:
            fake._record(self.path)
            if fake.gate is not None:
                fake.gate.wait(GATE_SECONDS)
            if fake.delay:
                time.sleep(fake.delay)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._respond()  # a client giving up on a fault is expected

        def _respond(self) -> None:
            if self.path.startswith(PACKAGES_PATH + "/"):
                self._send_file(unquote(self.path.removeprefix(PACKAGES_PATH + "/")))
                return
            fault = fake.fault
            if fault == "slow":
                time.sleep(fake.slow_seconds)
            if fault == "status":
                self._send(fake.fault_status, b'{"message": "Internal Server Error"}')
            elif fault == "malformed":
                self._send(200, b'{"info": {"name": "trunc')
            elif fault == "huge":
                self._huge(announce=True)
            elif fault == "huge-chunked":
                self._huge(announce=False)
            elif fault == "drip":
                self._drip()
            elif fault == "drip-stall":
                self._drip(stall_after=8)
            elif fault == "drip-headers":
                self._drip_headers()
            elif fault == "bad-gzip":  # says gzip, sends bytes that are not
                gzip_header = {"Content-Encoding": "gzip"}
                self._send_raw(200, b"\x1f\x8b\x08\x00not gzip at all", gzip_header)
            elif fault == "redirect" and self.path.startswith("/moved/"):  # arrived
                self._send(*fake.answer(self.path.removeprefix("/moved")))
            elif fault == "redirect":
                self._send_raw(301, b"", {"Location": fake.redirect_to + self.path})
            elif fault == "redirect-invalid":  # a control character no URL may hold
                self._send_raw(301, b"", {"Location": "/pypi/\x01/json"})
            elif fault == "redirect-loop":
                self._send_raw(302, b"", {"Location": self.path})
            else:
                self._send(*fake.answer(self.path))

        def _send(self, status: int, body: bytes) -> None:
            digest = hashlib.md5(body, usedforsecurity=False).hexdigest()
            etag = f'"{digest}{"x" * fake.etag_padding}"'
            if status == 200 and self.headers.get("If-None-Match") == etag:
                fake.not_modified += 1
                status, body = 304, b""
            self.send_response(status)
            simple = self.path.startswith("/simple/") and status == 200
            kind = "application/vnd.pypi.simple.v1+json" if simple else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            piece, pause = fake.pace or (len(body) or 1, 0.0)
            for at in range(0, len(body), piece):
                if at:
                    time.sleep(pause)
                self.wfile.write(body[at : at + piece])

        def _send_file(self, filename: str) -> None:
            content = fake.file_bytes(filename)
            if content is None:
                self._send_raw(404, b"Not Found", {"Content-Type": "text/plain"})
                return
            if filename in fake.tampered:
                content = content[:-1] + bytes([content[-1] ^ 1])
            self._send_raw(200, content, {"Content-Type": "application/octet-stream"})

        def _huge(self, *, announce: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if announce:
                self.send_header("Content-Length", str(TWO_GB))
            else:
                self.send_header("Connection", "close")
            self.end_headers()
            chunk = b'{"info": "' + b"x" * 65536
            sent = 0
            while sent < TWO_GB:
                self.wfile.write(chunk)
                sent += len(chunk)

        def _send_raw(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _drip_headers(self) -> None:
            """The status line, then a header a byte every 50 ms, for ``slow_seconds``."""
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            self.wfile.flush()
            ends = time.monotonic() + fake.slow_seconds
            while time.monotonic() < ends:
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.05)
            self.close_connection = True

        def _drip(self, stall_after: int | None = None) -> None:
            body = orjson.dumps({"info": {}, "releases": {}}) + b" " * 200
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for sent, byte in enumerate(body):
                if sent == stall_after:
                    time.sleep(fake.slow_seconds)  # then go silent, the connection open
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.05)

    return Handler


def refused_url() -> str:
    """A loopback URL on a port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
