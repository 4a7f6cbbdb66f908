"""Small name-index fixtures for the API tests, and a source served on loopback whose pace the
test controls (to catch a reload half-way: while it runs, when it fails, when it is killed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PYPI_HEADER = "name\tversion\tmonth\trank_among_15000_most_downloaded\tsummary"
NPM_HEADER = "name\tversion\tdownloads_a_month\tsummary"

PYPI_NAMES = [
    ("requests", "2.32.3"),
    ("requests-oauthlib", "2.0.0"),
    ("requests_toolbelt", "1.0.0"),
    ("types-requests", "2.32.0"),
    ("grequests", "0.7.0"),
    ("zope.interface", "7.1.1"),
    ("Django", "5.1.3"),
    ("django-extensions", "3.2.3"),
    ("foo_bar", "1.0"),
    ("fooxbar", "1.0"),
    ("percent100", "0.1"),
    ("numpy", "2.1.3"),
]
NPM_NAMES = [
    ("react", "18.3.1"),
    ("react-dom", "18.3.1"),
    ("preact", "10.25.0"),
    ("@types/react", "18.3.12"),
    ("react.dom", "0.0.1"),
    ("lodash", "4.17.21"),
    ("left-pad", "1.3.0"),
]


def tsv(ecosystem: str, rows: Sequence[tuple[str, str]]) -> str:
    """A TSV listing in the shape of ../shared/data's, one row per (name, version)."""
    if ecosystem == "pypi":
        lines = [PYPI_HEADER, *(f"{n}\t{v}\t2024-11\t\tsummary of {n}" for n, v in rows)]
    else:
        lines = [NPM_HEADER, *(f"{n}\t{v}\t1000\tsummary of {n}" for n, v in rows)]
    return "\n".join(lines) + "\n"


def write_listing(directory: Path, ecosystem: str, rows: Sequence[tuple[str, str]]) -> str:
    path = directory / f"{ecosystem}-{len(rows)}.tsv"
    path.write_text(tsv(ecosystem, rows))
    return str(path)


def many_names(ecosystem: str, count: int, prefix: str = "pkg") -> list[tuple[str, str]]:
    return [(f"{prefix}{i:06d}", "1.0.0") for i in range(count)]


@dataclass
class GatedSource:
    """Serves one listing over HTTP: the first ``head`` bytes at once, the rest only after
    :meth:`release` (or, with :meth:`fail`, the connection is dropped: a truncated source)."""

    body: bytes
    head: int
    url: str = ""
    requests: int = 0
    _gate: threading.Event = field(default_factory=threading.Event)
    _fail: bool = False

    def release(self) -> None:
        self._gate.set()

    def fail(self) -> None:
        self._fail = True
        self._gate.set()


def _handler(source: GatedSource) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            source.requests += 1
            self.send_response(200)
            self.send_header("Content-Type", "text/tab-separated-values")
            self.send_header("Content-Length", str(len(source.body)))
            self.end_headers()
            self.wfile.write(source.body[: source.head])
            self.wfile.flush()
            source._gate.wait(60)
            if source._fail:
                self.close_connection = True
                return
            self.wfile.write(source.body[source.head :])

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def gated_source(body: str, head: int | None = None) -> Iterator[GatedSource]:
    """A :class:`GatedSource` on a free loopback port; released when the block exits."""
    data = body.encode()
    source = GatedSource(data, head if head is not None else len(data) // 2)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(source))
    server.daemon_threads = True
    source.url = f"http://127.0.0.1:{server.server_address[1]}/listing.tsv"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield source
    finally:
        source.release()
        server.shutdown()
        server.server_close()
