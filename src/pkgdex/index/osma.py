"""What the OSMA-compatible API answers: the named functions its handlers call, and the answer
shapes (pydantic models used for the OpenAPI document only; answers are built with orjson).
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import HTTPException, Request
from pydantic import BaseModel, Field, SecretStr, create_model
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from pkgdex.clientip import client_ip, forwarding_headers, is_trusted_proxy
from pkgdex.config import Settings
from pkgdex.index.queries import index_status
from pkgdex.index.reloads import IndexReloads, NoReloadSourceError, ReloadRunningError
from pkgdex.ratelimit import BYPASS_VALID_SECONDS, make_bypass_token

SOURCES = {"pypi": "pypi.org", "npm": "npmjs.com"}
NOTE = "Snapshot dataset — updated periodically."


def health(engine: Engine, ecosystem: str, reloads: IndexReloads) -> tuple[int, dict[str, Any]]:
    """200 ok with the size; 503 while a cold start's first load runs (or after it failed),
    or when the database does not answer."""
    try:
        with engine.connect() as conn:
            status = index_status(conn, ecosystem)
    except SQLAlchemyError:
        return 503, {"status": "unavailable"}
    cold_start = ecosystem in reloads.settings.index_bootstrap and not status.loaded
    if cold_start and reloads.bootstrap_failed(ecosystem):
        return 503, {"status": "failed"}
    if cold_start:
        return 503, {"status": "initializing"}
    return 200, {"status": "ok", "total_packages": status.total}


def stats(conn: Connection, ecosystem: str) -> dict[str, Any]:
    status = index_status(conn, ecosystem)
    return {
        f"total_{ecosystem}_packages": status.total,
        "source": SOURCES[ecosystem],
        "note": NOTE,
        "last_updated": status.last_updated,
    }


def debug_ip(request: Request, settings: Settings) -> dict[str, Any]:
    """Only the address and the forwarding headers: never credentials or other headers."""
    peer = request.client.host if request.client else "unknown"
    ip = client_ip(request, settings.trusted_proxies)
    return {
        "client_ip": ip,
        "peer": peer,
        "peer_is_trusted_proxy": is_trusted_proxy(peer, settings.trusted_proxies),
        "forwarding_headers": forwarding_headers(request),
    }


def require_secret(configured: SecretStr | None, given: str, setting: str) -> str:
    """The configured secret if ``given`` matches it (constant time); else 403."""
    if configured is None:
        raise HTTPException(403, f"Disabled: {setting} is not set on this server.")
    expected = configured.get_secret_value()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(403, "Invalid secret.")
    return expected


def bypass_token(settings: Settings, secret: str) -> dict[str, Any]:
    """A fresh token for a caller who knows the bypass secret."""
    configured = require_secret(settings.bypass_secret, secret, "PKGDEX_BYPASS_SECRET")
    token = make_bypass_token(configured)
    return {
        "bypass_token": token,
        "valid_for_seconds": BYPASS_VALID_SECONDS,
        "usage": f"Send as header: X-Bypass-Token: {token}",
    }


def start_rebuild(reloads: IndexReloads, ecosystem: str, secret: str) -> dict[str, Any]:
    """Start a background reload for a caller who knows the rebuild secret (409 if one runs)."""
    require_secret(reloads.settings.rebuild_secret, secret, "PKGDEX_REBUILD_SECRET")
    try:
        state = reloads.rebuild(ecosystem)
    except ReloadRunningError:
        message = f"A rebuild of the {ecosystem} index is already running."
        raise HTTPException(409, message) from None
    except NoReloadSourceError as exc:
        raise HTTPException(503, str(exc)) from exc
    return {"status": "started", "ecosystem": ecosystem, "started": state.started}


# --- answer shapes, for the OpenAPI document ------------------------------------------------


class Package(BaseModel):
    no: int
    name: str
    version: str
    url: str


class SearchHit(Package):
    rank: int = Field(description="0 exact match, 1 starts with q, 2 contains q.")


class BrowsePage(BaseModel):
    page: int
    limit: int
    results: list[Package]


class SearchResults(BaseModel):
    query: str
    count: int
    results: list[SearchHit]


class Ping(BaseModel):
    ping: str = "pong"


class Health(BaseModel):
    status: str = Field(description="ok | initializing | failed | unavailable")
    total_packages: int | None = Field(None, description="Only when status is ok.")


class DebugIp(BaseModel):
    client_ip: str
    peer: str
    peer_is_trusted_proxy: bool
    forwarding_headers: dict[str, str]


class BypassToken(BaseModel):
    bypass_token: str
    valid_for_seconds: int
    usage: str


class RebuildStarted(BaseModel):
    status: str
    ecosystem: str
    started: str


class RateLimited(BaseModel):
    error: str = "Rate limit exceeded: 10 per 1 minute"


class Detail(BaseModel):
    detail: str


def _doc(model: type[BaseModel], **errors: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    doc: dict[int | str, dict[str, Any]] = {200: {"model": model}}
    doc.update({int(code.removeprefix("e")): {"model": m} for code, m in errors.items()})
    return doc


def stats_doc(ecosystem: str) -> dict[int | str, dict[str, Any]]:
    model = create_model(
        f"{ecosystem.capitalize()}Stats",
        **{f"total_{ecosystem}_packages": (int, ...)},  # type: ignore[call-overload]
        source=(str, ...),
        note=(str, ...),
        last_updated=(str | None, None),
    )
    return _doc(model)


PING_DOC = _doc(Ping)
HEALTH_DOC = _doc(Health, e503=Health)
BROWSE_DOC = _doc(BrowsePage, e429=RateLimited)
SEARCH_DOC = _doc(SearchResults, e429=RateLimited)
DEBUG_IP_DOC = _doc(DebugIp)
BYPASS_DOC = _doc(BypassToken, e403=Detail)
REBUILD_DOC: dict[int | str, dict[str, Any]] = {
    202: {"model": RebuildStarted, "description": "Started in the background."},
    403: {"model": Detail},
    409: {"model": Detail},
    503: {"model": Detail},
}
