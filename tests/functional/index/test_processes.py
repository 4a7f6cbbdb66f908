"""The index API across real server processes: what several workers or hosts share (rate-limit
counters and the rebuild lock, through Redis), what a real socket peer is, and what survives a
server killed in the middle of a reload."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from pkgdex.index.jobs import load_index
from support.index_data import PYPI_NAMES, gated_source, many_names, tsv, write_listing
from support.server import running_server, running_servers, start_server

pytestmark = pytest.mark.slow
SECRET = "rebuild-secret-for-the-tests"


def base_settings(database_url: str, **extra: str) -> dict[str, str]:
    settings = {"PKGDEX_DATABASE_URL": database_url, "PKGDEX_OFFLINE": "1"}
    settings.update({f"PKGDEX_{k.upper()}": v for k, v in extra.items()})
    return settings


def shared_redis(redis_url: str) -> dict[str, str]:
    return {"redis_url": redis_url, "redis_prefix": f"test-{uuid.uuid4().hex}"}


def wait_for(condition: object, timeout: float = 30.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def total(url: str) -> int:
    value: int = httpx.get(f"{url}/pypi/stats").json()["total_pypi_packages"]
    return value


@pytest.mark.redis
def test_rate_limits_hold_in_total_across_two_processes_sharing_redis(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = base_settings(
        database_url, rate_limit_index="5/minute;100/hour", **shared_redis(redis_url)
    )
    with running_servers(settings, 2, log_dir=tmp_path) as (one, two):
        answers = []
        for i in range(8):
            url = (one if i % 2 == 0 else two).url
            answers.append(httpx.get(f"{url}/npm/search", params={"q": "react"}))
        assert [a.status_code for a in answers] == [200] * 5 + [429] * 3
        assert [a.headers["x-ratelimit-remaining"] for a in answers[:5]] == [
            "4", "3", "2", "1", "0",
        ]  # fmt: skip
        assert answers[5].json() == {"error": "Rate limit exceeded: 5 per 1 minute"}
        assert int(answers[5].headers["retry-after"]) >= 1
        # Other routes and ecosystems keep their own counters, in both processes.
        assert httpx.get(f"{two.url}/pypi/search", params={"q": "react"}).status_code == 200
        assert httpx.get(f"{one.url}/npm/browse").status_code == 200


def test_without_redis_each_process_counts_alone(database_url: str, tmp_path: Path) -> None:
    # Why PKGDEX_REDIS_URL matters behind a load balancer: memory counters are per process.
    settings = base_settings(database_url, rate_limit_index="1/minute")
    with running_servers(settings, 2, log_dir=tmp_path) as (one, two):
        assert httpx.get(f"{one.url}/npm/browse").status_code == 200
        assert httpx.get(f"{two.url}/npm/browse").status_code == 200
        assert httpx.get(f"{one.url}/npm/browse").status_code == 429


def test_forwarded_for_is_believed_only_from_trusted_proxies(
    database_url: str, tmp_path: Path
) -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.23"}
    with running_server(base_settings(database_url), log_dir=tmp_path) as direct:
        head = httpx.head(f"{direct.url}/npm/ping")
        assert (head.status_code, head.content) == (200, b"")
        seen = httpx.get(f"{direct.url}/pypi/debug-ip", headers=forwarded).json()
        assert (seen["client_ip"], seen["peer_is_trusted_proxy"]) == ("127.0.0.1", False)
    trusting = base_settings(database_url, trusted_proxies="127.0.0.1/32")
    with running_server(trusting, log_dir=tmp_path) as behind_proxy:
        seen = httpx.get(f"{behind_proxy.url}/pypi/debug-ip", headers=forwarded).json()
        assert (seen["client_ip"], seen["peer"]) == ("198.51.100.23", "127.0.0.1")
        assert seen["peer_is_trusted_proxy"] is True


@pytest.mark.redis
def test_one_rebuild_at_a_time_across_processes(
    database_url: str, redis_url: str, engine: Engine, tmp_path: Path
) -> None:
    load_index(engine, "pypi", write_listing(tmp_path, "pypi", PYPI_NAMES))
    new_names = many_names("pypi", 300)
    with gated_source(tsv("pypi", new_names)) as source:
        settings = base_settings(
            database_url,
            rebuild_secret=SECRET,
            index_sources=f"pypi={source.url}",
            **shared_redis(redis_url),
        )
        with running_servers(settings, 2, log_dir=tmp_path) as (one, two):
            started = httpx.post(f"{one.url}/pypi/rebuild", params={"secret": SECRET})
            assert started.status_code == 202
            refused = httpx.post(f"{two.url}/pypi/rebuild", params={"secret": SECRET})
            assert refused.status_code == 409
            assert total(two.url) == len(PYPI_NAMES)  # the old index serves meanwhile
            source.release()
            wait_for(lambda: total(two.url) == len(new_names))
            # The lock was released: the other process may rebuild now.
            wait_for(
                lambda: (
                    httpx.get(f"{two.url}/pypi/rebuild", params={"secret": SECRET}).status_code
                    == 202
                )
            )


def test_without_redis_one_rebuild_at_a_time_across_processes_still_holds(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    load_index(engine, "pypi", write_listing(tmp_path, "pypi", PYPI_NAMES))
    with gated_source(tsv("pypi", many_names("pypi", 300))) as source:
        settings = base_settings(
            database_url, rebuild_secret=SECRET, index_sources=f"pypi={source.url}"
        )
        with running_servers(settings, 2, log_dir=tmp_path) as (one, two):
            assert httpx.post(f"{one.url}/pypi/rebuild", params={"secret": SECRET}).status_code == (
                202
            )
            assert httpx.post(f"{two.url}/pypi/rebuild", params={"secret": SECRET}).status_code == (
                409
            )
            source.release()
            wait_for(lambda: total(two.url) == 300)


def test_a_cold_start_serves_at_once_and_reports_initializing(
    database_url: str, tmp_path: Path
) -> None:
    with gated_source(tsv("pypi", PYPI_NAMES)) as source:
        settings = base_settings(database_url, index_bootstrap=f"pypi={source.url}")
        with running_server(settings, log_dir=tmp_path) as server:
            health = httpx.get(f"{server.url}/pypi/health")
            assert (health.status_code, health.json()) == (503, {"status": "initializing"})
            source.release()
            wait_for(lambda: httpx.get(f"{server.url}/pypi/health").status_code == 200)
            assert httpx.get(f"{server.url}/pypi/health").json() == {
                "status": "ok",
                "total_packages": len(PYPI_NAMES),
            }


def test_a_server_killed_half_way_through_a_rebuild_leaves_the_old_index(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    load_index(engine, "pypi", write_listing(tmp_path, "pypi", PYPI_NAMES))
    with gated_source(tsv("pypi", many_names("pypi", 5000))) as source:
        settings = base_settings(
            database_url, rebuild_secret=SECRET, index_sources=f"pypi={source.url}"
        )
        server = start_server(settings, log_dir=tmp_path)
        try:
            assert httpx.post(
                f"{server.url}/pypi/rebuild", params={"secret": SECRET}
            ).status_code == (202)
            wait_for(lambda: source.requests == 1)
            time.sleep(0.3)  # the load is reading the first half of the listing
        finally:
            server.kill()
    with running_server(base_settings(database_url), log_dir=tmp_path) as restarted:
        assert total(restarted.url) == len(PYPI_NAMES)
        hits = httpx.get(f"{restarted.url}/pypi/search", params={"q": "requests"}).json()
        assert hits["results"][0]["name"] == "requests"
        assert httpx.get(f"{restarted.url}/pypi/search", params={"q": "pkg00"}).json()["count"] == 0
