"""Cross-cutting ASGI middleware, kept as plain ASGI so it costs almost nothing per request."""

from __future__ import annotations

import time
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
# When the request being answered arrived (``time.monotonic``), wherever its work runs
# (contextvars follow it into the thread pool).
REQUEST_ARRIVED: ContextVar[float | None] = ContextVar("pkgdex_request_arrived", default=None)


class RequestIdMiddleware:
    """Gives every request an id (the caller's, if sane) and echoes it as ``X-Request-ID``;
    notes when it arrived (``REQUEST_ARRIVED``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        REQUEST_ARRIVED.set(time.monotonic())
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _sane_request_id(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        await self.app(scope, receive, send_with_id)


def _sane_request_id(incoming: str) -> bool:
    # ASCII only: echoed in a response header, a byte beyond it would be obs-text, which
    # RFC 9110 keeps only for old senders and some clients refuse.
    return 0 < len(incoming) <= 64 and incoming.isascii() and incoming.isprintable()
