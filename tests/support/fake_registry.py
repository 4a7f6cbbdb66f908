"""A fake upstream registry on loopback: PyPI's Simple index and npm's ``_changes`` feed.

``FakeRegistry`` answers
- ``GET /simple/`` with a PEP 691 JSON project list (only when asked for that media type),
- ``GET /_changes?since=SEQ&limit=N`` with a page of the npm replication feed,
- ``GET /files/<name>`` with bytes registered by the test (a load source given as a URL),
  optionally dripped a chunk at a time so a test can catch a load half-way.
Faults are set per test: ``status`` (answer every request with that HTTP status) and
``malformed`` (answer JSON endpoints with a broken body). Every request is recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import orjson

PEP691 = "application/vnd.pypi.simple.v1+json"


@dataclass
class Request:
    path: str
    query: dict[str, str]
    accept: str


@dataclass
class FakeRegistry:
    url: str = ""
    projects: list[str] = field(default_factory=list)
    changes: list[dict[str, object]] = field(default_factory=list)  # {"seq", "id", "deleted"?}
    files: dict[str, bytes] = field(default_factory=dict)
    drip_chunk: int = 0  # >0: send files this many bytes at a time ...
    drip_delay: float = 0.0  # ... with this pause between chunks
    status: int = 200
    malformed: bool = False
    requests: list[Request] = field(default_factory=list)
    bytes_sent: int = 0

    def add_change(self, name: str, *, deleted: bool = False) -> None:
        change: dict[str, object] = {"seq": len(self.changes) + 1, "id": name, "changes": []}
        if deleted:
            change["deleted"] = True
        self.changes.append(change)

    def simple_index(self) -> bytes:
        projects = [{"name": name, "_last-serial": i} for i, name in enumerate(self.projects)]
        meta = {"api-version": "1.1", "_last-serial": len(self.projects)}
        return orjson.dumps({"meta": meta, "projects": projects})

    def changes_page(self, since: int, limit: int) -> bytes:
        page = [c for c in self.changes if int(str(c["seq"])) > since][:limit]
        last_seq = page[-1]["seq"] if page else since
        return orjson.dumps({"results": page, "last_seq": last_seq})


@contextmanager
def serve_registry(registry: FakeRegistry | None = None) -> Iterator[FakeRegistry]:
    """Serve ``registry`` on a free loopback port for the duration of the block."""
    registry = registry or FakeRegistry()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    server.daemon_threads = True
    registry.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()


def _handler(registry: FakeRegistry) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            registry.requests.append(Request(parts.path, query, self.headers.get("Accept", "")))
            if registry.status != 200:
                self._send(registry.status, b'{"error": "upstream trouble"}')
            elif parts.path == "/simple/":
                self._simple()
            elif parts.path == "/_changes":
                body = registry.changes_page(int(query.get("since", "0")), int(query["limit"]))
                self._send(200, b'{"results": [' if registry.malformed else body)
            elif parts.path.startswith("/files/") and parts.path[7:] in registry.files:
                self._drip(registry.files[parts.path[7:]])
            else:
                self._send(404, b'{"error": "not found"}')

        def _simple(self) -> None:
            if PEP691 not in self.headers.get("Accept", ""):
                self._send(406, b"only PEP 691 JSON here")
                return
            body = b'{"meta": {' if registry.malformed else registry.simple_index()
            self._send(200, body, PEP691)

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _drip(self, body: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            step = registry.drip_chunk or len(body) or 1
            try:
                for start in range(0, len(body), step):
                    self.wfile.write(body[start : start + step])
                    self.wfile.flush()
                    registry.bytes_sent += len(body[start : start + step])
                    time.sleep(registry.drip_delay)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client went away (a killed load): nothing left to do

    return Handler
