"""Per-client rate limits from the ``limits`` library, in memory or shared through Redis.

A route group declares ``Depends(RateLimit("index", settings.rate_limit_index, render))``;
``render`` builds the 429 in the shape its surface promises. Every answer carries honest
``X-RateLimit-*`` headers, and a 429 also carries ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response
from limits import RateLimitItem, WindowStats, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from pkgdex.clientip import client_ip
from pkgdex.config import Settings
from pkgdex.errors import ResponseError

log = logging.getLogger(__name__)

BYPASS_HEADER = "x-bypass-token"
BYPASS_VALID_SECONDS = 3600
BYPASS_TOKEN = re.compile(r"(?P<expiry>[0-9]{1,20}):(?P<signature>[0-9a-f]{64})")

Render429 = Callable[[Request, RateLimitItem, dict[str, str]], Response]


@dataclass
class Limiter:
    """The process's limiter; its storage is shared between processes when it is Redis."""

    strategy: FixedWindowRateLimiter
    enabled: bool
    settings: Settings

    @classmethod
    def from_settings(cls, settings: Settings) -> Limiter:
        # The asyncio flavour of ``limits``: counting costs no worker-thread hop, and its memory
        # storage expires keys with an asyncio task where the threaded one starts a thread.
        if settings.redis_url:
            storage = storage_from_string(
                f"async+{settings.redis_url}",
                implementation="redispy",
                key_prefix=f"{settings.redis_prefix}:limits",
                wrap_exceptions=True,
            )
        else:
            storage = storage_from_string("async+memory://")
        assert isinstance(storage, Storage)
        return cls(FixedWindowRateLimiter(storage), settings.rate_limits_enabled, settings)


def make_bypass_token(secret: str, now: float | None = None) -> str:
    expiry = int((now if now is not None else time.time()) + BYPASS_VALID_SECONDS)
    return f"{expiry}:{_sign(secret, expiry)}"


def bypass_token_valid(secret: str | None, token: str | None, now: float | None = None) -> bool:
    if not secret or not token:
        return False
    # The shape make_bypass_token gives, checked first: str.isdigit() takes "²", which int()
    # refuses, and hmac.compare_digest raises on a non-ASCII string.
    shape = BYPASS_TOKEN.fullmatch(token)
    if shape is None:
        return False
    expiry = int(shape["expiry"])
    if expiry < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(shape["signature"], _sign(secret, expiry))


def _sign(secret: str, expiry: int) -> str:
    return hmac.new(secret.encode(), str(expiry).encode(), hashlib.sha256).hexdigest()


class RateLimit:
    """A FastAPI dependency enforcing one scope's limits per client address."""

    def __init__(self, scope: str, limits_text: str, render: Render429) -> None:
        self.scope = scope
        self.items = parse_many(limits_text)
        self.render = render

    async def __call__(self, request: Request, response: Response) -> None:
        response.headers.update(await self.check(request))

    async def check(self, request: Request) -> dict[str, str]:
        """Count ``request``: the ``X-RateLimit-*`` headers to send (none when limits are off
        or bypassed), or a 429 raised as :class:`ResponseError`."""
        limiter: Limiter = request.app.state.limiter
        if not limiter.enabled or self._bypassed(request, limiter.settings):
            return {}
        ip = client_ip(request, limiter.settings.trusted_proxies)
        try:
            return await self._count(request, limiter, ip)
        except StorageError:
            # A limit is a protection, not the service: while Redis is unreachable, serve.
            log.warning("rate-limit storage unreachable; %s is not limited", self.scope)
            return {}

    async def _count(self, request: Request, limiter: Limiter, ip: str) -> dict[str, str]:
        """Count the request in every window: the headers to send, or a 429 raised."""
        windows: list[tuple[RateLimitItem, WindowStats]] = []
        for item in self.items:
            allowed = await limiter.strategy.hit(item, self.scope, ip)
            stats = await limiter.strategy.get_window_stats(item, self.scope, ip)
            if not allowed:
                headers = self._headers(item, stats, exceeded=True)
                raise ResponseError(self.render(request, item, headers))
            windows.append((item, stats))
        # The window closest to tripping is the one the headers describe.
        item, stats = min(windows, key=lambda window: window[1].remaining)
        return self._headers(item, stats)

    def _bypassed(self, request: Request, settings: Settings) -> bool:
        secret = settings.bypass_secret.get_secret_value() if settings.bypass_secret else None
        return bypass_token_valid(secret, request.headers.get(BYPASS_HEADER))

    def _headers(
        self, item: RateLimitItem, stats: WindowStats, *, exceeded: bool = False
    ) -> dict[str, str]:
        reset = math.ceil(stats.reset_time)
        headers = {
            "X-RateLimit-Limit": str(item.amount),
            "X-RateLimit-Remaining": str(max(stats.remaining, 0)),
            "X-RateLimit-Reset": str(reset),
        }
        if exceeded:
            headers["Retry-After"] = str(max(1, math.ceil(stats.reset_time - time.time())))
        return headers
