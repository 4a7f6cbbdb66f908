"""Rate limits of browse and search: counted per client, honest headers, the original's 429,
bypass tokens, and X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pkgdex.app import create_app
from pkgdex.config import Settings
from pkgdex.ratelimit import BYPASS_VALID_SECONDS, make_bypass_token

BYPASS_SECRET = "bypass-secret-for-the-tests"
ClientFactory = Callable[..., TestClient]


@pytest.fixture
def limited(sqlite_url: str) -> Iterator[ClientFactory]:
    """Clients with limits on, each app with its own in-memory counters; ``peer`` sets the
    socket address the app sees. (Counting never touches the database, so one backend.)"""
    clients: list[TestClient] = []

    def factory(peer: str = "203.0.113.1", **overrides: Any) -> TestClient:
        values: dict[str, Any] = {
            "database_url": sqlite_url,
            "offline": True,
            "rate_limits": "on",
            "rate_limit_index": "3/minute;100/hour",
        }
        values.update(overrides)
        settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
        client = TestClient(create_app(settings), client=(peer, 40000))
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


def search(client: TestClient, eco: str = "pypi", **headers: str) -> Any:
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    return client.get(f"/{eco}/search", params={"q": "requests"}, headers=sent)


@pytest.mark.parametrize("route", ["search", "browse"])
def test_the_limit_holds_with_honest_headers_then_429(limited: ClientFactory, route: str) -> None:
    client = limited()
    params = {"q": "abc"} if route == "search" else {}
    for remaining in (2, 1, 0):
        answer = client.get(f"/npm/{route}", params=params)
        assert answer.status_code == 200
        assert answer.headers["x-ratelimit-limit"] == "3"
        assert answer.headers["x-ratelimit-remaining"] == str(remaining)
        reset = int(answer.headers["x-ratelimit-reset"])
        assert time.time() < reset <= time.time() + 61
    refused = client.get(f"/npm/{route}", params=params)
    assert refused.status_code == 429
    assert refused.json() == {"error": "Rate limit exceeded: 3 per 1 minute"}
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_the_default_limit_is_the_documented_one(limited: ClientFactory) -> None:
    client = limited(rate_limit_index="10/minute;100/hour")
    assert all(search(client).status_code == 200 for _ in range(10))
    refused = search(client)
    assert refused.status_code == 429
    assert refused.json() == {"error": "Rate limit exceeded: 10 per 1 minute"}


def test_the_429_names_the_window_that_tripped(limited: ClientFactory) -> None:
    client = limited(rate_limit_index="50/minute;2/hour")
    assert search(client).status_code == 200
    assert search(client).headers["x-ratelimit-limit"] == "2"  # the tightest window is shown
    refused = search(client)
    assert refused.json() == {"error": "Rate limit exceeded: 2 per 1 hour"}
    assert 3000 < int(refused.headers["retry-after"]) <= 3600


def test_each_route_and_ecosystem_counts_on_its_own(limited: ClientFactory) -> None:
    client = limited(rate_limit_index="1/minute")
    assert search(client, "pypi").status_code == 200
    assert search(client, "pypi").status_code == 429
    assert search(client, "npm").status_code == 200
    assert client.get("/pypi/browse").status_code == 200
    assert client.get("/pypi/browse").status_code == 429


def test_ping_health_and_stats_are_never_limited(limited: ClientFactory) -> None:
    client = limited(rate_limit_index="1/minute")
    search(client)
    assert search(client).status_code == 429
    for path in ("/pypi/ping", "/pypi/health", "/pypi/stats", "/pypi/debug-ip"):
        answers = [client.get(path) for _ in range(5)]
        assert all(a.status_code == 200 for a in answers), path
        assert "x-ratelimit-limit" not in answers[0].headers


def test_an_unreachable_redis_leaves_requests_unlimited_not_failing(
    limited: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = limited(rate_limit_index="1/minute", redis_url="redis://127.0.0.1:9/0")
    answers = [search(client) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "x-ratelimit-limit" not in answers[0].headers
    assert "rate-limit storage unreachable" in caplog.text


def test_rate_limits_off_switches_every_limit_off(limited: ClientFactory) -> None:
    client = limited(rate_limits="off", rate_limit_index="1/minute")
    answers = [search(client) for _ in range(5)]
    assert all(a.status_code == 200 for a in answers)
    assert "x-ratelimit-limit" not in answers[0].headers


def test_every_request_counts_even_a_refused_one(limited: ClientFactory) -> None:
    # The limit is checked before the parameters, so malformed requests cannot flood for free.
    client = limited(rate_limit_index="2/minute")
    assert client.get("/pypi/search", params={"q": "a"}).status_code == 422
    assert search(client).status_code == 200
    assert client.get("/pypi/search", params={"q": "a"}).status_code == 429


# --- bypass tokens -------------------------------------------------------------------------


def test_get_bypass_hands_out_a_token_that_skips_the_limits(limited: ClientFactory) -> None:
    client = limited(rate_limit_index="1/minute", bypass_secret=BYPASS_SECRET)
    answer = client.get("/pypi/get-bypass", params={"secret": BYPASS_SECRET})
    assert answer.status_code == 200
    body = answer.json()
    token = body["bypass_token"]
    expiry, _, signature = token.partition(":")
    assert abs(int(expiry) - (time.time() + BYPASS_VALID_SECONDS)) < 5
    assert len(signature) == 64
    assert body == {
        "bypass_token": token,
        "valid_for_seconds": 3600,
        "usage": f"Send as header: X-Bypass-Token: {token}",
    }
    assert all(search(client, x_bypass_token=token).status_code == 200 for _ in range(5))
    assert all(search(client, "npm", x_bypass_token=token).status_code == 200 for _ in range(3))
    assert search(client).status_code == 200  # the bypassed requests did not count
    assert search(client).status_code == 429


@pytest.mark.parametrize(
    "token",
    [
        make_bypass_token(BYPASS_SECRET, time.time() - BYPASS_VALID_SECONDS - 5),  # expired
        make_bypass_token("a-different-long-secret"),  # signed with the wrong secret
        f"{int(time.time()) + 10**6}:{make_bypass_token(BYPASS_SECRET).partition(':')[2]}",
        "9999999999:" + "0" * 64,  # forged
        "garbage",
        "",
    ],
    ids=["expired", "wrong-secret", "extended-expiry", "forged", "garbage", "empty"],
)
def test_invalid_bypass_tokens_are_ignored(limited: ClientFactory, token: str) -> None:
    client = limited(rate_limit_index="1/minute", bypass_secret=BYPASS_SECRET)
    assert search(client, x_bypass_token=token).status_code == 200
    assert search(client, x_bypass_token=token).status_code == 429


def test_bypass_tokens_are_refused_when_no_secret_is_configured(limited: ClientFactory) -> None:
    token = make_bypass_token(BYPASS_SECRET)
    client = limited(rate_limit_index="1/minute")
    answer = client.get("/pypi/get-bypass", params={"secret": BYPASS_SECRET})
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Disabled: PKGDEX_BYPASS_SECRET is not set on this server."}
    search(client, x_bypass_token=token)
    assert search(client, x_bypass_token=token).status_code == 429


@pytest.mark.parametrize(
    "secret", ["wrong-secret-of-length", BYPASS_SECRET[:-1], BYPASS_SECRET + "x", "", "ü" * 30]
)
def test_get_bypass_refuses_a_wrong_secret(limited: ClientFactory, secret: str) -> None:
    client = limited(bypass_secret=BYPASS_SECRET)
    answer = client.get("/npm/get-bypass", params={"secret": secret})
    assert answer.status_code == 403
    assert answer.json() == {"detail": "Invalid secret."}
    assert "bypass_token" not in answer.text


# --- who the client is ---------------------------------------------------------------------


def test_forwarded_for_from_an_untrusted_peer_cannot_dodge_the_limit(
    limited: ClientFactory,
) -> None:
    client = limited(rate_limit_index="2/minute", trusted_proxies="10.0.0.0/8")
    answers = [search(client, x_forwarded_for=f"198.51.100.{i}") for i in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 429, 429]


def test_forwarded_for_from_a_trusted_proxy_counts_each_client(limited: ClientFactory) -> None:
    client = limited("10.1.2.3", rate_limit_index="2/minute", trusted_proxies="10.0.0.0/8")
    alice = [search(client, x_forwarded_for="198.51.100.1").status_code for _ in range(3)]
    bob = [search(client, x_forwarded_for="198.51.100.2").status_code for _ in range(2)]
    assert alice == [200, 200, 429] and bob == [200, 200]
    # Prepending a made-up address changes nothing: the proxy appended the real one.
    spoofed = search(client, x_forwarded_for="192.0.2.99, 198.51.100.1")
    assert spoofed.status_code == 429


def test_debug_ip_shows_the_client_behind_a_trusted_proxy(limited: ClientFactory) -> None:
    client = limited("10.1.2.3", trusted_proxies="10.0.0.0/8")
    body = client.get("/npm/debug-ip", headers={"X-Forwarded-For": "198.51.100.1"}).json()
    assert body == {
        "client_ip": "198.51.100.1",
        "peer": "10.1.2.3",
        "peer_is_trusted_proxy": True,
        "forwarding_headers": {"x-forwarded-for": "198.51.100.1"},
    }
