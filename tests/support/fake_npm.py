"""A fake registry.npmjs.org served on loopback for tests and benchmarks.

It serves packuments shaped as the real registry's (``_id``, ``_rev``, hoisted fields, ``time``,
``dist`` with ``integrity``/``shasum``/``tarball``, deprecated versions, scoped names, many
versions), answers ``If-None-Match`` with 304, logs every request, and can misbehave on demand
(``fault``): time out, answer 500, send malformed JSON, send a huge body, drop the connection.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import io
import tarfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from fastapi.testclient import TestClient

Packument = dict[str, Any]

NpmClient = Callable[..., TestClient]  # makes pkgdex clients pulling through from the fake
CORGI = "application/vnd.npm.install-v1+json"
# What npm's own client sends when it installs (pacote).
NPM_INSTALL_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"

FAULTS = ("timeout", "500", "malformed", "not-utf8", "huge", "endless", "drop", "wrong-name",
          "not-a-packument", "too-deep", "nul-modified")  # fmt: skip
HUGE_CHUNK = b" " * 65536


def _stamp(n: int) -> str:
    base = 1_500_000_000 + n * 86_400
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(base))


@functools.lru_cache(maxsize=4096)
def package_tarball(name: str, version: str) -> bytes:
    """A real, installable tarball of ``name@version``: ``package/package.json`` and an
    ``index.js``, the same bytes every time (fixed times), so ``dist`` can name its digests."""
    manifest = {"name": name, "version": version, "main": "index.js"}
    files = {
        "package/package.json": orjson.dumps(manifest),
        "package/index.js": f"module.exports = {version!r};\n".encode(),
    }
    packed = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(content), 499_162_500, 0o644
            tar.addfile(info, io.BytesIO(content))
    return packed.getvalue()


def _dist(base_url: str, name: str, version: str) -> dict[str, Any]:
    tarball = package_tarball(name, version)
    basename = name.rsplit("/", 1)[-1]
    return {
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode(),
        "shasum": hashlib.sha1(tarball).hexdigest(),  # noqa: S324 - npm's shasum is SHA-1
        "tarball": f"{base_url}/{name}/-/{basename}-{version}.tgz",
        "fileCount": 3,
        "unpackedSize": 1024 + len(version),
    }


def make_packument(
    base_url: str,
    name: str,
    versions: list[str],
    *,
    description: str = "",
    keywords: list[str] | None = None,
    deprecated: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    extra: dict[str, dict[str, Any]] | None = None,
) -> Packument:
    """A packument as the registry serves it; ``extra`` adds fields to chosen versions."""
    maintainer = {"name": "alice", "email": "alice@example.org"}
    manifests: dict[str, Packument] = {}
    times: dict[str, str] = {"created": _stamp(0)}
    for n, version in enumerate(versions):
        manifest: Packument = {
            "name": name,
            "version": version,
            "description": description,
            "main": "index.js",
            "scripts": {"test": "node test.js"},
            "license": "MIT",
            "dependencies": {"tiny-dep": f"^{n % 7}.0.0"} if n % 2 else {},
            "devDependencies": {"tap": "^16.0.0"},
            "engines": {"node": ">=14"},
            "directories": {},
            "gitHead": hashlib.sha1(version.encode()).hexdigest(),  # noqa: S324
            "_id": f"{name}@{version}",
            "_nodeVersion": "20.11.0",
            "_npmVersion": "10.2.4",
            "_npmUser": maintainer,
            "maintainers": [maintainer],
            "dist": _dist(base_url, name, version),
            "_hasShrinkwrap": False,
        }
        if deprecated and version in deprecated:
            manifest["deprecated"] = deprecated[version]
        manifest.update((extra or {}).get(version, {}))
        manifests[version] = manifest
        times[version] = _stamp(n + 1)
    times["modified"] = _stamp(len(versions) + 1)
    latest = (tags or {}).get("latest", versions[-1])
    return {
        "_id": name,
        "_rev": f"{len(versions)}-{hashlib.md5(name.encode()).hexdigest()}",  # noqa: S324
        "name": name,
        "description": description,
        "dist-tags": {"latest": latest, **(tags or {})},
        "versions": manifests,
        "time": times,
        "maintainers": [maintainer],
        "author": {"name": "Alice Example", "email": "alice@example.org"},
        "repository": {"type": "git", "url": f"git+https://github.com/example/{name}.git"},
        "homepage": f"https://github.com/example/{name}#readme",
        "bugs": {"url": f"https://github.com/example/{name}/issues"},
        "keywords": keywords or [],
        "license": "MIT",
        "readme": f"# {name}\n\n{description}\n",
        "readmeFilename": "README.md",
    }


def standard_packuments(base_url: str) -> list[Packument]:
    """The fixture packages: plain, deprecated, scoped with pre-releases, many versions, native."""
    many = [f"{major}.{minor}.0" for major in range(1, 11) for minor in range(50)]
    return [
        make_packument(
            base_url,
            "left-pad",
            ["1.0.0", "1.1.0", "1.3.0"],
            description="String left pad",
            keywords=["pad", "string"],
            deprecated={"1.0.0": "use String.prototype.padStart()"},
        ),
        make_packument(
            base_url,
            "@pkgdex-test/scoped",
            ["1.0.0", "1.1.0", "2.0.0-beta.1"],
            description="A scoped package",
            tags={"latest": "1.1.0", "next": "2.0.0-beta.1"},
        ),
        make_packument(base_url, "many-versions", many, description="Five hundred releases"),
        make_packument(
            base_url,
            "native-addon",
            ["0.1.0"],
            description="Builds a native addon",
            extra={
                "0.1.0": {
                    "scripts": {"install": "node-gyp rebuild"},
                    "gypfile": True,
                    "os": ["linux", "darwin"],
                    "cpu": ["x64", "arm64"],
                    "bin": {"native-addon": "bin/cli.js"},
                    "peerDependencies": {"node-addon-api": "*"},
                    "peerDependenciesMeta": {"node-addon-api": {"optional": True}},
                    "optionalDependencies": {"fsevents": "^2.3.0"},
                    "funding": {"type": "github", "url": "https://github.com/sponsors/alice"},
                }
            },
        ),
    ]


@dataclass
class FakeNpm:
    """State of the fake registry; tests change ``fault``/``delay`` and read ``requests``."""

    base_url: str = ""
    docs: dict[str, Packument] = field(default_factory=dict)
    fault: str | None = None
    delay: float = 0.0
    # (path as sent, decoded path, headers) of every request
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)  # sent instead of a doc's JSON
    lock: threading.Lock = field(default_factory=threading.Lock)
    etag_padding: int = 0  # characters added to every ETag: one longer than any column

    def add(self, doc: Packument) -> None:
        self.docs[doc["name"]] = doc

    def hits(self, name: str) -> int:
        """How many packument requests reached the fake for ``name``."""
        counts = Counter(path for _raw, path, _h in self.requests)
        return counts["/" + name]

    def etag(self, name: str) -> str:
        digest = hashlib.sha256(orjson.dumps(self.docs[name])).hexdigest()[:20]
        return '"' + digest + "x" * self.etag_padding + '"'


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        fake = self.server.fake
        raw_path = urlsplit(self.path).path
        path = unquote(raw_path)
        with fake.lock:
            fake.requests.append((raw_path, path, dict(self.headers.items())))
        if fake.delay:
            time.sleep(fake.delay)
        if fake.fault:
            self._misbehave(fake.fault, path)
            return
        name = path.lstrip("/")
        if "/-/" in name:
            self._send_tarball(fake, name)
            return
        if name not in fake.docs:
            self._send(404, b'{"error":"Not found"}')
            return
        etag = fake.etag(name)
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", {"ETag": etag})
            return
        body = fake.bodies.get(name) or orjson.dumps(fake.docs[name])
        self._send(200, body, {"ETag": etag})

    def _send_tarball(self, fake: FakeNpm, path: str) -> None:
        """``<name>/-/<basename>-<version>.tgz``, for each version a packument lists."""
        name, file = path.split("/-/", 1)
        versions = fake.docs.get(name, {}).get("versions", {})
        for version, manifest in versions.items():
            if manifest.get("dist", {}).get("tarball", "").endswith(f"/-/{file}"):
                tarball = package_tarball(name, version)
                self._send(200, tarball, {"Content-Type": "application/octet-stream"})
                return
        self._send(404, b'{"error":"Not found"}')

    def _misbehave(self, fault: str, path: str) -> None:
        if fault == "timeout":
            time.sleep(self.server.timeout_sleep)
            self._send(200, b"{}")
        elif fault == "500":
            self._send(500, b"Internal Server Error", {"Content-Type": "text/plain"})
        elif fault == "malformed":
            self._send(200, b'{"name": "left-pad", "versions": {')
        elif fault == "not-utf8":  # well-formed JSON but for a byte no string may hold
            self._send(200, b'{"name": "left-pad", "readme": "\xff", "versions": {}}')
        elif fault == "wrong-name":
            self._send(200, b'{"name": "someone-else", "versions": {}}')
        elif fault == "not-a-packument":
            self._send(200, b'["a", "list"]')
        elif fault == "too-deep":  # JSON, nested past what a decoder follows
            deep = b"[" * 1100 + b"1" + b"]" * 1100
            self._send(200, b'{"name": "left-pad", "readme": ' + deep + b', "versions": {}}')
        elif fault == "nul-modified":  # a NUL where no database text column holds one
            body = b'{"name": "left-pad", "time": {"modified": "2024\\u0000"}, "versions": {}}'
            self._send(200, body)
        elif fault in ("huge", "endless"):
            self._send_huge(announce=fault == "huge")
        elif fault == "drop":
            self.close_connection = True
            self.connection.close()

    def _send_huge(self, *, announce: bool) -> None:
        # Up to 2 GB, until the client hangs up; "endless" gives no length (ends at close).
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if announce:
            self.send_header("Content-Length", str(2 * 1024**3))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(b'{"name": "left-pad", "padding": "')
            for _ in range(2 * 1024**3 // len(HUGE_CHUNK)):
                self.wfile.write(HUGE_CHUNK)
        except OSError:
            return
        finally:
            self.close_connection = True

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        merged = {"Content-Type": "application/json", **(headers or {})}
        for key, value in merged.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeNpm, timeout_sleep: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake
        self.timeout_sleep = timeout_sleep


@contextmanager
def serve_fake_npm(timeout_sleep: float = 3.0) -> Iterator[FakeNpm]:
    """Serve a fake registry with the standard packuments on a free loopback port."""
    fake = FakeNpm()
    server = _Server(fake, timeout_sleep)
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    for doc in standard_packuments(fake.base_url):
        fake.add(doc)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def unused_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
