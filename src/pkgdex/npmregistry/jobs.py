"""Long-running work of the npmregistry domain, shared by the CLI and the server."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from pkgdex.config import Settings
from pkgdex.metadata.pullthrough import SingleFlight
from pkgdex.metadata.upstream import Upstream, UpstreamError
from pkgdex.npmregistry import demo
from pkgdex.npmregistry import packument as pk
from pkgdex.npmregistry.documents import Documents
from pkgdex.npmregistry.services import (
    NpmRegistry,
    PackageNotFoundError,
    record_in_index,
    store_documents,
)


@dataclass(frozen=True)
class SyncResult:
    name: str
    outcome: str  # "updated", "not found", "failed"
    detail: str = ""


def import_packument(engine: Engine, doc: Any) -> str:
    """Store one packument read from a file; returns its name.

    Raises :class:`pkgdex.npmregistry.packument.InvalidPackumentError` for a document that is not
    a packument; nothing is written then.
    """
    with engine.begin() as conn:
        documents = store_packument(conn, doc)
    record_in_index(engine, documents)
    return documents.name


def store_packument(conn: Connection, doc: Any) -> Documents:
    """Store one packument within the caller's transaction (``pkgdex metadata import`` writes
    all its documents in one); the name index is the caller's to tell once it has committed.
    Raises as ``import_packument`` does."""
    documents = Documents.from_doc(pk.check_packument(doc))
    store_documents(conn, documents)
    return documents


def sync(engine: Engine, settings: Settings, names: Iterable[str]) -> list[SyncResult]:
    """Refresh ``names`` from the npm upstream now, whatever the cache holds."""
    upstream = Upstream.from_settings(settings)
    single_flight = SingleFlight.from_settings(settings)  # with Redis, shared with the servers
    registry = NpmRegistry.from_parts(engine, upstream, single_flight, settings)
    try:
        return [_sync_one(registry, name) for name in names]
    finally:
        upstream.close()
        single_flight.close()


def _sync_one(registry: NpmRegistry, name: str) -> SyncResult:
    if not pk.valid_name(name):
        return SyncResult(name, "failed", "not a valid npm package name")
    try:
        answer = registry.sync(name)
    except PackageNotFoundError:
        return SyncResult(name, "not found")
    except UpstreamError as exc:
        return SyncResult(name, "failed", exc.message)
    if answer.stale:
        return SyncResult(name, "failed", "upstream failed; the cached copy is kept")
    return SyncResult(name, "updated", answer.stored.latest or "")


def load_demo(engine: Engine) -> None:
    """Fill the demo database with this domain's bundled data."""
    for doc in demo.packuments():
        import_packument(engine, doc)
