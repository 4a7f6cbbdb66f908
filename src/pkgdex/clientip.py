"""Who is asking: the socket peer, or the forwarded client when the peer is a trusted proxy.

The original trusted ``X-Forwarded-For`` from anyone, so anyone could dodge a rate limit by
sending a new address each time; pkgdex believes it only from ``PKGDEX_TRUSTED_PROXIES``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.requests import Request

from pkgdex.config import IPNetwork

FORWARDING_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


def is_trusted_proxy(address: str, proxies: Iterable[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_ip(request: Request, proxies: tuple[IPNetwork, ...]) -> str:
    """The address rate limits and logs attribute the request to."""
    peer = request.client.host if request.client else "unknown"
    if not proxies or not is_trusted_proxy(peer, proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    # Walk from the nearest hop outwards; the first address we don't trust is the client.
    for hop in reversed(hops):
        if not is_trusted_proxy(hop, proxies):
            return hop if _is_ip(hop) else peer
    return hops[0] if hops and _is_ip(hops[0]) else peer


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def forwarding_headers(request: Request) -> dict[str, str]:
    return {h: request.headers[h] for h in FORWARDING_HEADERS if h in request.headers}
