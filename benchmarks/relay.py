"""The least a pull-through miss can cost in pkgdex's stack: a bare ASGI app that passes each
GET on to an upstream and answers with the upstream's bytes, under the same uvicorn as pkgdex.

No framework, no routing, no store, no check, one pooled ``httpx.AsyncClient`` on the event
loop (no thread hop). ``RELAY_CHECK=json`` adds the least check a cache needs to refuse a
malformed body: the body is parsed (orjson) and the relay answers 502 if it is not JSON.
``benchmarks/metadata_miss_floor.py`` starts it as
``uvicorn relay:app --app-dir benchmarks`` with ``RELAY_UPSTREAM`` set.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_state: dict[str, Any] = {}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http":
        await _relay(scope, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _state["client"] = httpx.AsyncClient(base_url=os.environ["RELAY_UPSTREAM"])
            _state["check"] = os.environ.get("RELAY_CHECK") == "json"
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await _state["client"].aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _relay(scope: Scope, send: Send) -> None:
    client: httpx.AsyncClient = _state["client"]
    upstream = await client.get(scope["path"], headers={"Accept-Encoding": "identity"})
    status, body = upstream.status_code, upstream.content
    if _state["check"] and status == 200:
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            status, body = 502, b'{"message": "Bad Gateway"}'
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
