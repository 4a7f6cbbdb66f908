"""Who a request is attributed to: X-Forwarded-For is believed only from trusted proxies."""

from __future__ import annotations

import ipaddress

import pytest
from starlette.requests import Request

from pkgdex.clientip import client_ip, forwarding_headers, is_trusted_proxy
from pkgdex.config import IPNetwork


def request(peer: str | None, **headers: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
        "client": (peer, 50000) if peer is not None else None,
    }
    return Request(scope)


def nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_claims() -> None:
    assert client_ip(request("203.0.113.9", x_forwarded_for="1.2.3.4"), ()) == "203.0.113.9"


def test_forwarded_for_from_an_untrusted_peer_is_ignored() -> None:
    proxies = nets("10.0.0.0/8")
    assert client_ip(request("203.0.113.9", x_forwarded_for="1.2.3.4"), proxies) == "203.0.113.9"


def test_forwarded_for_from_a_trusted_proxy_names_the_client() -> None:
    proxies = nets("10.0.0.0/8")
    assert client_ip(request("10.1.2.3", x_forwarded_for="198.51.100.7"), proxies) == (
        "198.51.100.7"
    )


def test_a_client_cannot_spoof_by_prepending_addresses() -> None:
    # The client sent "1.1.1.1" itself; the trusted proxy appended the real address.
    proxies = nets("10.0.0.0/8")
    req = request("10.0.0.2", x_forwarded_for="1.1.1.1, 198.51.100.7")
    assert client_ip(req, proxies) == "198.51.100.7"


def test_a_chain_of_trusted_proxies_is_walked_to_the_first_untrusted_hop() -> None:
    proxies = nets("10.0.0.0/8", "192.168.0.0/16")
    req = request("10.0.0.2", x_forwarded_for="1.1.1.1, 198.51.100.7, 192.168.5.5")
    assert client_ip(req, proxies) == "198.51.100.7"


def test_when_every_hop_is_trusted_the_farthest_is_the_client() -> None:
    proxies = nets("10.0.0.0/8")
    assert client_ip(request("10.0.0.2", x_forwarded_for="10.9.9.9, 10.0.0.3"), proxies) == (
        "10.9.9.9"
    )


@pytest.mark.parametrize("header", ["not-an-ip", "", " , ", "1.2.3.4.5", "unknown, 10.0.0.3"])
def test_garbage_forwarded_for_falls_back_to_the_peer(header: str) -> None:
    proxies = nets("10.0.0.0/8")
    assert client_ip(request("10.0.0.2", x_forwarded_for=header), proxies) == "10.0.0.2"


def test_a_trusted_proxy_without_forwarded_for_is_the_client() -> None:
    assert client_ip(request("10.0.0.2"), nets("10.0.0.0/8")) == "10.0.0.2"


def test_ipv6_peers_and_networks() -> None:
    proxies = nets("::1/128", "fd00::/8")
    assert client_ip(request("::1", x_forwarded_for="2001:db8::5"), proxies) == "2001:db8::5"
    assert client_ip(request("2001:db8::9", x_forwarded_for="2001:db8::5"), proxies) == (
        "2001:db8::9"
    )


def test_a_request_without_a_peer_is_unknown() -> None:
    assert client_ip(request(None, x_forwarded_for="1.2.3.4"), nets("0.0.0.0/0")) == "unknown"


def test_is_trusted_proxy_refuses_non_addresses() -> None:
    assert is_trusted_proxy("10.0.0.1", nets("10.0.0.0/8"))
    assert not is_trusted_proxy("11.0.0.1", nets("10.0.0.0/8"))
    assert not is_trusted_proxy("testclient", nets("0.0.0.0/0"))


def test_forwarding_headers_never_include_credentials() -> None:
    req = request(
        "10.0.0.2",
        x_forwarded_for="1.2.3.4",
        x_real_ip="1.2.3.4",
        authorization="Bearer s3cr3t",
        cookie="session=s3cr3t",
        x_api_key="s3cr3t",
        x_bypass_token="123:abc",
    )
    assert forwarding_headers(req) == {"x-forwarded-for": "1.2.3.4", "x-real-ip": "1.2.3.4"}
