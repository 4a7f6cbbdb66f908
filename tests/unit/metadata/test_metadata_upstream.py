"""The upstream engine against a fake pypi.org: good answers and every fault mode."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from pkgdex.config import Settings
from pkgdex.metadata.upstream import (
    MAX_TRANSFERS,
    FetchedBytes,
    Upstream,
    UpstreamError,
    UpstreamNotFound,
)
from support.fake_pypi import FakePyPI, big_project, refused_url


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"upstream_timeout_seconds": 1.0}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def fake() -> Iterator[FakePyPI]:
    with FakePyPI() as server:
        yield server


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    client = Upstream.from_settings(settings())
    yield client
    client.close()


def test_parses_a_document(fake: FakePyPI, upstream: Upstream) -> None:
    fetched = upstream.get_json(f"{fake.url}/pypi/sampleproject/json")
    assert fetched.status == 200
    assert fetched.data["info"]["version"] == "3.0.0"
    assert fetched.headers["etag"].startswith('"')
    assert 0 <= fetched.elapsed < 1


def test_chunks_are_shown_as_they_arrive(fake: FakePyPI, upstream: Upstream) -> None:
    fake.add(big_project("chunks", 40))
    fake.pace = (8192, 0.001)
    seen: list[bytes] = []
    fetched = upstream.get_bytes(f"{fake.url}/pypi/chunks/json", on_chunk=seen.append)
    assert len(seen) > 1 and b"".join(seen) == fetched.body
    assert fetched.body == fake.answer("/pypi/chunks/json")[1]


def test_a_started_transfer_gives_its_body_to_then_on_its_own_thread(
    fake: FakePyPI, upstream: Upstream
) -> None:
    fake.gate = threading.Event()
    sent = threading.Event()
    seen: list[tuple[int, str]] = []

    def then(fetched: FetchedBytes) -> int:
        seen.append((fetched.status, threading.current_thread().name))
        return len(fetched.body)

    started = upstream.start_bytes(f"{fake.url}/pypi/sampleproject/json", then, on_sent=sent.set)
    assert sent.wait(5), "the request went out, yet on_sent was not called"
    assert not started.done()  # returned at once, the answer still awaited
    fake.gate.set()
    assert started.result(5) == len(fake.answer("/pypi/sampleproject/json")[1])
    assert seen[0][0] == 200 and seen[0][1].startswith("pkgdex-upstream")


def test_a_started_transfers_failures_are_its_futures(fake: FakePyPI) -> None:
    def then(fetched: FetchedBytes) -> bytes:
        raise AssertionError("not called for a failure")

    fake.fault, fake.slow_seconds = "slow", 3
    client = Upstream.from_settings(settings(upstream_timeout_seconds=0.3))
    started = time.monotonic()
    timed_out = client.start_bytes(f"{fake.url}/pypi/sampleproject/json", then)
    with pytest.raises(UpstreamError) as caught:
        timed_out.result(5)
    assert caught.value.code == "upstream_timeout" and time.monotonic() - started < 1.5
    fake.fault = None
    with pytest.raises(UpstreamNotFound):
        client.start_bytes(f"{fake.url}/pypi/no-such-project/json", then).result(5)
    client.close()
    offline = Upstream.from_settings(settings(offline=True))
    with pytest.raises(UpstreamError) as caught:
        offline.start_bytes(f"{fake.url}/pypi/sampleproject/json", then).result(0)
    assert caught.value.code == "offline" and fake.total() == 2
    offline.close()


def test_404_is_not_found(fake: FakePyPI, upstream: Upstream) -> None:
    with pytest.raises(UpstreamNotFound):
        upstream.get_json(f"{fake.url}/pypi/no-such-project/json")


def test_500_is_upstream_error(fake: FakePyPI, upstream: Upstream) -> None:
    fake.fault = "status"
    with pytest.raises(UpstreamError) as caught:
        upstream.get_json(f"{fake.url}/pypi/sampleproject/json")
    assert (caught.value.status, caught.value.code) == (502, "upstream_error")
    assert "500" in caught.value.message


def test_malformed_json(fake: FakePyPI, upstream: Upstream) -> None:
    fake.fault = "malformed"
    with pytest.raises(UpstreamError) as caught:
        upstream.get_json(f"{fake.url}/pypi/sampleproject/json")
    assert (caught.value.status, caught.value.code) == (502, "upstream_malformed")


def test_slow_upstream_times_out(fake: FakePyPI) -> None:
    fake.fault, fake.slow_seconds = "slow", 3
    client = Upstream.from_settings(settings(upstream_timeout_seconds=0.3))
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client.get_json(f"{fake.url}/pypi/sampleproject/json")
    client.close()
    assert (caught.value.status, caught.value.code) == (504, "upstream_timeout")
    assert time.monotonic() - started < 1.5


def test_dripping_upstream_stops_at_the_deadline(fake: FakePyPI) -> None:
    fake.fault = "drip"  # a byte every 50 ms: no single read times out
    client = Upstream.from_settings(settings(upstream_timeout_seconds=0.5))
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client.get_json(f"{fake.url}/pypi/sampleproject/json")
    client.close()
    assert caught.value.code == "upstream_timeout"
    assert time.monotonic() - started < 1.5


def test_connection_refused(upstream: Upstream) -> None:
    with pytest.raises(UpstreamError) as caught:
        upstream.get_json(f"{refused_url()}/pypi/sampleproject/json")
    assert (caught.value.status, caught.value.code) == (502, "upstream_unreachable")


@pytest.mark.parametrize("fault", ["huge", "huge-chunked"])
def test_two_gigabytes_are_refused_early(fake: FakePyPI, fault: str) -> None:
    fake.fault = fault
    client = Upstream.from_settings(settings(upstream_max_bytes=1024 * 1024))
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client.get_json(f"{fake.url}/pypi/sampleproject/json")
    client.close()
    assert (caught.value.status, caught.value.code) == (502, "upstream_too_large")
    assert time.monotonic() - started < 2


def test_offline_never_calls_out(fake: FakePyPI) -> None:
    client = Upstream.from_settings(settings(offline=True))
    with pytest.raises(UpstreamError) as caught:
        client.get_json(f"{fake.url}/pypi/sampleproject/json")
    client.close()
    assert caught.value.code == "offline"
    assert fake.total() == 0


def test_conditional_request_answers_304(fake: FakePyPI, upstream: Upstream) -> None:
    first = upstream.get_json(f"{fake.url}/pypi/sampleproject/json")
    fake.fault, fake.fault_status = "status", 304
    again = upstream.get_json(
        f"{fake.url}/pypi/sampleproject/json", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status == 304
    assert again.data is None


def test_a_stall_after_some_bytes_still_ends_at_the_deadline(fake: FakePyPI) -> None:
    # 8 bytes over 0.4 s, then silence: a per-read timeout alone would wait until ~0.9 s.
    fake.fault, fake.slow_seconds = "drip-stall", 3
    client = Upstream.from_settings(settings(upstream_timeout_seconds=0.5))
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        client.get_json(f"{fake.url}/pypi/sampleproject/json")
    elapsed = time.monotonic() - started
    client.close()
    assert caught.value.code == "upstream_timeout"
    assert elapsed < 0.75


def test_headers_dripping_stop_at_the_deadline_and_free_their_connection(fake: FakePyPI) -> None:
    # A byte of headers every 50 ms: httpx's per-read timeout never fires. More such transfers
    # than the client has connections, then a healthy request: it must not wait for one.
    fake.fault, fake.slow_seconds = "drip-headers", 30
    client = Upstream.from_settings(settings(upstream_timeout_seconds=0.5))
    url = f"{fake.url}/pypi/sampleproject/json"
    started = time.monotonic()
    with ThreadPoolExecutor(MAX_TRANSFERS + 8) as pool:
        failures = list(pool.map(lambda _: _code_of(client, url), range(MAX_TRANSFERS + 8)))
    assert failures == ["upstream_timeout"] * (MAX_TRANSFERS + 8)
    assert time.monotonic() - started < 3
    fake.fault = None
    started = time.monotonic()
    assert client.get_json(url).status == 200
    assert time.monotonic() - started < 0.4
    client.close()


def _code_of(client: Upstream, url: str) -> str:
    try:
        client.get_json(url)
    except UpstreamError as exc:
        return exc.code
    return "answered"


@pytest.mark.parametrize(
    ("fault", "code", "words"),
    [("bad-gzip", "upstream_malformed", "does not decode"),
     ("redirect-loop", "upstream_error", "TooManyRedirects")],
)  # fmt: skip
def test_every_httpx_failure_is_a_clear_502(
    fake: FakePyPI, upstream: Upstream, fault: str, code: str, words: str
) -> None:
    fake.fault = fault
    with pytest.raises(UpstreamError) as caught:
        upstream.get_json(f"{fake.url}/pypi/sampleproject/json")
    assert (caught.value.status, caught.value.code) == (502, code)
    assert words in caught.value.message


def test_close_twice_is_harmless() -> None:
    client = Upstream.from_settings(settings())
    client.close()
    client.close()


def test_a_redirect_to_another_host_is_refused(fake: FakePyPI, upstream: Upstream) -> None:
    with FakePyPI() as elsewhere:  # another server: same address, another port
        fake.fault, fake.redirect_to = "redirect", elsewhere.url
        with pytest.raises(UpstreamError) as caught:
            upstream.get_json(f"{fake.url}/pypi/sampleproject/json")
        assert (caught.value.status, caught.value.code) == (502, "upstream_redirect")
        assert elsewhere.total() == 0


def test_a_redirect_on_the_upstreams_host_is_followed(fake: FakePyPI, upstream: Upstream) -> None:
    # As pypi.org sends /pypi/SampleProject/json to /pypi/sampleproject/json.
    fake.fault, fake.redirect_to = "redirect", f"{fake.url}/moved"
    fetched = upstream.get_json(f"{fake.url}/pypi/sampleproject/json")
    assert fetched.data["info"]["name"] == "sampleproject"
    assert fake.count("/moved/pypi/sampleproject/json") == 1


def test_a_redirect_to_an_invalid_url_is_a_clear_502(fake: FakePyPI, upstream: Upstream) -> None:
    fake.fault = "redirect-invalid"
    with pytest.raises(UpstreamError) as caught:
        upstream.get_json(f"{fake.url}/pypi/sampleproject/json")
    assert (caught.value.status, caught.value.code) == (502, "upstream_redirect")


@pytest.mark.parametrize(
    ("etag", "kept"),
    [('"abc"', '"abc"'), ('W/"' + "a" * 508 + '"', 'W/"' + "a" * 508 + '"'),
     ('"' + "a" * 511 + '"', None), (None, None)],
    ids=["short", "as long as its column", "longer", "none"],
)  # fmt: skip
def test_the_validator_kept_is_an_etag_that_fits_its_column(
    etag: str | None, kept: str | None
) -> None:
    headers = httpx.Headers({} if etag is None else {"ETag": etag})
    assert FetchedBytes(b"{}", headers, 0.01).validator == kept
