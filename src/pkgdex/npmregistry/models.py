"""Tables of the npmregistry domain.

One row per package name asked for: the packument as pkgdex serves it (full and abbreviated,
both pre-serialised so a cached answer is one primary-key read), or the memory of an upstream
404 (``status`` 404, no documents) so a name that does not exist is not asked for again and
again.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, LargeBinary, SmallInteger, String, Table

from pkgdex.db import metadata
from pkgdex.metadata.models import ETAG_MAX_LENGTH

# npm's own limit on a package name, scope included.
NAME_MAX_LENGTH = 214
VERSION_MAX_LENGTH = 256  # node-semver's own limit on a version
MODIFIED_MAX_LENGTH = 64  # an ISO time, as the registry writes it, takes 24

# Small columns first, documents last: SQLite reaches a column stored after a large blob only by
# walking the blob's overflow pages, so the freshness check must not sit behind 400 KB of JSON.
npm_packuments = Table(
    "npm_packuments",
    metadata,
    Column("name", String(NAME_MAX_LENGTH), primary_key=True),
    Column("status", SmallInteger, nullable=False, comment="200 stored, 404 upstream said absent"),
    Column("fetched_at", Float, nullable=False, comment="unix seconds of the last upstream answer"),
    Column("digest", String(64), nullable=True, comment="XXH3-128 of doc: the ETag's seed"),
    Column("latest", String(VERSION_MAX_LENGTH), nullable=True),
    Column(
        "modified",
        String(MODIFIED_MAX_LENGTH),
        nullable=True,
        comment="time.modified of the packument",
    ),
    Column(
        "upstream_etag", String(ETAG_MAX_LENGTH), nullable=True, comment="to revalidate upstream"
    ),
    Column("card", LargeBinary, nullable=True, comment="what npm search shows of it, JSON"),
    Column("abbreviated", LargeBinary, nullable=True, comment="install-v1 (corgi) form, JSON"),
    Column("doc", LargeBinary, nullable=True, comment="full packument, JSON"),
)
