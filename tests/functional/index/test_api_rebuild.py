"""/rebuild and the cold-start bootstrap: reloads run in the background, one at a time, and the
old index serves until the new one is swapped in (or forever, if the new one fails)."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pkgdex.index.jobs import load_index
from pkgdex.index.reloads import IndexReloads
from support.index_data import NPM_NAMES, PYPI_NAMES, gated_source, many_names, tsv, write_listing

SECRET = "rebuild-secret-for-the-tests"
ClientFactory = Callable[..., TestClient]


def reloads(client: TestClient) -> IndexReloads:
    value: IndexReloads = client.app.state.index_reloads  # type: ignore[attr-defined]
    return value


def finish(client: TestClient, eco: str) -> None:
    assert reloads(client).wait(eco, 30), "the reload did not finish"


def total(client: TestClient, eco: str) -> int:
    value: int = client.get(f"/{eco}/stats").json()[f"total_{eco}_packages"]
    return value


def search_names(client: TestClient, eco: str, q: str) -> list[str]:
    return [r["name"] for r in client.get(f"/{eco}/search", params={"q": q}).json()["results"]]


@pytest.fixture
def old_index(engine: Engine, tmp_path: Path) -> None:
    load_index(engine, "pypi", write_listing(tmp_path, "pypi", PYPI_NAMES))


# --- secrets -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_rebuild_is_disabled_without_a_secret(client: TestClient, method: str) -> None:
    answer = client.request(method, "/pypi/rebuild", params={"secret": SECRET})
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Disabled: PKGDEX_REBUILD_SECRET is not set on this server."}


@pytest.mark.parametrize("secret", ["", "nope", SECRET.upper(), SECRET + " ", "ß" * 40])
def test_rebuild_refuses_a_wrong_secret(make_client: ClientFactory, secret: str) -> None:
    client = make_client(rebuild_secret=SECRET, index_sources={"pypi": "/nonexistent"})
    answer = client.post("/pypi/rebuild", params={"secret": secret})
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Invalid secret."}
    assert not reloads(client).states["pypi"].running


def test_rebuild_without_a_source_while_offline_is_503(make_client: ClientFactory) -> None:
    client = make_client(rebuild_secret=SECRET, offline=True)
    answer = client.get("/npm/rebuild", params={"secret": SECRET})
    assert answer.status_code == 503
    assert "PKGDEX_INDEX_SOURCES" in answer.json()["detail"]


# --- the reload ----------------------------------------------------------------------------


@pytest.mark.usefixtures("old_index")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_rebuild_returns_at_once_and_the_old_index_serves_until_the_swap(
    make_client: ClientFactory, method: str
) -> None:
    new_names = [*PYPI_NAMES, ("brand-new-package", "0.1.0")]
    with gated_source(tsv("pypi", new_names)) as source:
        client = make_client(rebuild_secret=SECRET, index_sources={"pypi": source.url})
        started = time.monotonic()
        answer = client.request(method, "/pypi/rebuild", params={"secret": SECRET})
        assert time.monotonic() - started < 2, "rebuild must not wait for the load"
        assert answer.status_code == 202
        body = answer.json()
        assert body["status"] == "started" and body["ecosystem"] == "pypi"

        # While the load runs: a second rebuild is refused, the old index answers.
        again = client.post("/pypi/rebuild", params={"secret": SECRET})
        assert again.status_code == 409
        assert again.json() == {"detail": "A rebuild of the pypi index is already running."}
        assert total(client, "pypi") == len(PYPI_NAMES)
        assert search_names(client, "pypi", "brand-new") == []
        assert client.get("/pypi/health").json()["status"] == "ok"

        source.release()
        finish(client, "pypi")
    assert reloads(client).states["pypi"].error is None
    assert total(client, "pypi") == len(new_names)
    assert search_names(client, "pypi", "brand-new") == ["brand-new-package"]
    # Numbers are stable across the reload: the old names kept theirs.
    first = client.get("/pypi/browse", params={"limit": 1}).json()["results"][0]
    assert (first["no"], first["name"]) == (1, "requests")
    # The lock was released: another rebuild may start.
    with gated_source(tsv("pypi", new_names)) as source:
        source.release()
        client2 = make_client(rebuild_secret=SECRET, index_sources={"pypi": source.url})
        assert client2.post("/pypi/rebuild", params={"secret": SECRET}).status_code == 202
        finish(client2, "pypi")


@pytest.mark.usefixtures("old_index")
def test_one_ecosystem_rebuilding_does_not_block_the_other(
    make_client: ClientFactory, tmp_path: Path
) -> None:
    npm_listing = write_listing(tmp_path, "npm", NPM_NAMES)
    with gated_source(tsv("pypi", PYPI_NAMES)) as source:
        client = make_client(
            rebuild_secret=SECRET, index_sources={"pypi": source.url, "npm": npm_listing}
        )
        assert client.post("/pypi/rebuild", params={"secret": SECRET}).status_code == 202
        assert client.post("/npm/rebuild", params={"secret": SECRET}).status_code == 202
        finish(client, "npm")
        assert total(client, "npm") == len(NPM_NAMES)
        source.release()
        finish(client, "pypi")


@pytest.mark.usefixtures("old_index")
def test_a_rebuild_whose_source_breaks_half_way_leaves_the_old_index(
    make_client: ClientFactory,
) -> None:
    with gated_source(tsv("pypi", many_names("pypi", 2000))) as source:
        client = make_client(rebuild_secret=SECRET, index_sources={"pypi": source.url})
        assert client.get("/pypi/rebuild", params={"secret": SECRET}).status_code == 202
        source.fail()  # the connection drops half-way through the listing
        finish(client, "pypi")
    state = reloads(client).states["pypi"]
    assert state.error is not None
    assert total(client, "pypi") == len(PYPI_NAMES)
    assert search_names(client, "pypi", "requests")[0] == "requests"
    assert search_names(client, "pypi", "pkg0000") == []
    assert client.get("/pypi/health").json() == {
        "status": "ok",
        "total_packages": len(PYPI_NAMES),
    }


@pytest.mark.usefixtures("old_index")
@pytest.mark.parametrize("bad", ["missing", "truncated-gzip", "wrong-header", "empty"])
def test_a_rebuild_from_a_bad_file_leaves_the_old_index(
    make_client: ClientFactory, tmp_path: Path, bad: str
) -> None:
    path = tmp_path / f"{bad}.tsv.gz"
    if bad == "truncated-gzip":
        path.write_bytes(gzip.compress(tsv("pypi", many_names("pypi", 5000)).encode())[:2000])
    elif bad == "wrong-header":
        path.write_text("this,is,not,a,listing\n1,2,3,4,5\n")
    elif bad == "empty":
        path.write_bytes(b"")
    client = make_client(rebuild_secret=SECRET, index_sources={"pypi": str(path)})
    assert client.post("/pypi/rebuild", params={"secret": SECRET}).status_code == 202
    finish(client, "pypi")
    assert reloads(client).states["pypi"].error is not None
    assert total(client, "pypi") == len(PYPI_NAMES)
    assert search_names(client, "pypi", "zope.interface") == ["zope.interface"]


# --- cold-start bootstrap ------------------------------------------------------------------


def test_a_cold_start_serves_at_once_and_is_initializing_until_loaded(
    make_client: ClientFactory,
) -> None:
    with gated_source(tsv("npm", NPM_NAMES)) as source:
        client = make_client(index_bootstrap={"npm": source.url})
        assert client.get("/npm/ping").status_code == 200
        health = client.get("/npm/health")
        assert health.status_code == 503
        assert health.json() == {"status": "initializing"}
        # The other ecosystem has nothing to bootstrap: it is simply empty and healthy.
        assert client.get("/pypi/health").json() == {"status": "ok", "total_packages": 0}
        assert client.get("/npm/search", params={"q": "react"}).json()["count"] == 0
        source.release()
        finish(client, "npm")
    health = client.get("/npm/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "total_packages": len(NPM_NAMES)}
    assert search_names(client, "npm", "react")[0] == "react"


def test_a_failed_cold_start_says_so(make_client: ClientFactory, tmp_path: Path) -> None:
    client = make_client(index_bootstrap={"npm": str(tmp_path / "missing.tsv")})
    finish(client, "npm")
    health = client.get("/npm/health")
    assert health.status_code == 503
    assert health.json() == {"status": "failed"}


@pytest.mark.usefixtures("old_index")
def test_a_warm_start_stays_healthy_and_refreshes_in_the_background(
    make_client: ClientFactory,
) -> None:
    new_names = [*PYPI_NAMES, ("fresh-package", "1.0")]
    with gated_source(tsv("pypi", new_names)) as source:
        client = make_client(index_bootstrap={"pypi": source.url})
        health = client.get("/pypi/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "total_packages": len(PYPI_NAMES)}
        source.release()
        finish(client, "pypi")
    assert total(client, "pypi") == len(new_names)


def test_a_rebuild_during_the_bootstrap_is_409(make_client: ClientFactory) -> None:
    with gated_source(tsv("pypi", PYPI_NAMES)) as source:
        client = make_client(
            rebuild_secret=SECRET,
            index_bootstrap={"pypi": source.url},
            index_sources={"pypi": source.url},
        )
        assert client.post("/pypi/rebuild", params={"secret": SECRET}).status_code == 409
        source.release()
        finish(client, "pypi")


@pytest.mark.usefixtures("old_index")
def test_shutting_down_mid_rebuild_cancels_the_load_and_keeps_the_old_index(
    make_client: ClientFactory,
) -> None:
    listing = tsv("pypi", many_names("pypi", 50_000))
    with gated_source(listing, head=len(listing) * 3 // 4) as source:
        client = make_client(rebuild_secret=SECRET, index_sources={"pypi": source.url})
        state = reloads(client).rebuild("pypi")
        wait_until = time.monotonic() + 30
        while source.requests == 0 and time.monotonic() < wait_until:
            time.sleep(0.02)
        # The rest of the listing arrives only once the server is shutting down.
        threading.Timer(0.5, source.release).start()
        client.__exit__(None, None, None)
    assert state.done.is_set()
    assert state.error is not None and "ReloadCancelledError" in state.error
    after = make_client()
    assert total(after, "pypi") == len(PYPI_NAMES)
    assert search_names(after, "pypi", "pkg0000") == []
