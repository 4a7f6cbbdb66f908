"""The upstream engine with content codings: a compressed body is decoded, and the size cap
applies to what it decodes to, so a small compressed bomb is refused like a large body."""

from __future__ import annotations

import functools
import gzip
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pkgdex.config import Settings
from pkgdex.metadata.upstream import Upstream, UpstreamError

DOCUMENT = b'{"info": {"name": "zipped", "version": "1.0"}, "releases": {}}'




@functools.cache
def big_bomb() -> bytes:
    return gzip.compress(b" " * (64 << 20), compresslevel=9)  # 64 MiB in about 64 KiB


@functools.cache
def dense() -> bytes:
    """20 MiB of JSON lines that gzip about fourfold: past the bomb floor, and no bomb."""
    lines = (b'{"n": %d, "v": "%08x"}\n' % (i, i * 2654435761 % 2**32) for i in range(700_000))
    return gzip.compress(b"".join(lines))


BODIES: dict[str, Callable[[], bytes]] = {
    "gzip": lambda: gzip.compress(DOCUMENT),
    "identity": lambda: DOCUMENT,
    "bomb": lambda: gzip.compress(b" " * (4 << 20)),
    "big-bomb": big_bomb,
    "dense": dense,
}


class _Coded(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        coding, _, payload = self.path.strip("/").partition("/")
        body = BODIES[payload or coding]()  # made when asked for: the big ones take a while
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if coding != "identity":
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Coded)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    settings = Settings(_env_file=None, upstream_max_bytes=1 << 20)  # type: ignore[call-arg]
    client = Upstream.from_settings(settings)
    yield client
    client.close()


@pytest.mark.parametrize("coding", ["gzip", "identity"])
def test_body_is_decoded_whatever_its_coding(
    base_url: str, upstream: Upstream, coding: str
) -> None:
    assert upstream.get_bytes(f"{base_url}/{coding}").body == DOCUMENT
    assert upstream.get_json(f"{base_url}/{coding}").data["info"]["name"] == "zipped"
    seen: list[bytes] = []  # what a miss checks as it arrives: the decoded body
    upstream.get_bytes(f"{base_url}/{coding}", on_chunk=seen.append)
    assert b"".join(seen) == DOCUMENT


def test_a_compressed_bomb_is_refused_by_its_decoded_size(
    base_url: str, upstream: Upstream
) -> None:
    with pytest.raises(UpstreamError) as caught:
        upstream.get_bytes(f"{base_url}/gzip/bomb")
    assert (caught.value.status, caught.value.code) == (502, "upstream_too_large")


@pytest.fixture
def roomy() -> Iterator[Upstream]:
    """An upstream with the default 256 MiB cap: room for a bomb to grow."""
    settings = Settings(_env_file=None, upstream_max_bytes=256 << 20)  # type: ignore[call-arg]
    client = Upstream.from_settings(settings)
    yield client
    client.close()


def test_a_bomb_under_the_size_cap_is_refused_by_its_ratio(base_url: str, roomy: Upstream) -> None:
    seen: list[int] = []
    with pytest.raises(UpstreamError) as caught:
        roomy.get_bytes(f"{base_url}/gzip/big-bomb", on_chunk=lambda c: seen.append(len(c)))
    assert (caught.value.status, caught.value.code) == (502, "upstream_too_large")
    assert "decompresses over 200 times" in caught.value.message
    assert sum(seen) <= 17 << 20  # stopped just past the floor, not at 64 MiB


def test_a_large_body_that_compresses_as_json_does_is_no_bomb(
    base_url: str, roomy: Upstream
) -> None:
    body = roomy.get_bytes(f"{base_url}/gzip/dense").body
    assert body == gzip.decompress(dense()) and len(body) > 16 << 20
