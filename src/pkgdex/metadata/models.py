"""Tables of the metadata domain: PyPI projects, their releases and their files.

A project row exists for every name pkgdex has asked the upstream about: ``status`` 200 with
its releases and files, or 404 (the upstream said it does not exist, remembered for the
negative TTL). ``revision`` changes whenever anything served from the project changes, so
rendered answers can be cached per (project, revision) in every process.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from pkgdex.db import metadata

NAME_MAX_LENGTH = 255
VERSION_MAX_LENGTH = 255
BIGINT_MAX = 2**63 - 1  # the range of the serial and size columns
ETAG_MAX_LENGTH = 512  # an upstream's validator kept to revalidate with (npm's table too)
DIGEST_MAX_LENGTHS = {"md5": 32, "sha256": 64, "blake2b_256": 64}  # hex digests' columns

metadata_projects = Table(
    "metadata_projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(NAME_MAX_LENGTH), nullable=False, unique=True, comment="PEP 503 form"),
    Column("display_name", String(NAME_MAX_LENGTH), nullable=False),
    Column("status", SmallInteger, nullable=False, comment="200 stored, 404 upstream said absent"),
    Column("last_serial", BigInteger, nullable=False),
    Column("fetched_at", Float, nullable=False, comment="unix seconds of the last upstream answer"),
    Column(
        "upstream_etag", String(ETAG_MAX_LENGTH), nullable=True, comment="to revalidate upstream"
    ),
    Column("revision", String(32), nullable=False, comment="changes with any served content"),
    Column(
        "described_version",
        String(VERSION_MAX_LENGTH),
        nullable=True,
        comment="the release the upstream's project document described",
    ),
)

metadata_releases = Table(
    "metadata_releases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "project_id",
        Integer,
        ForeignKey("metadata_projects.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("version", String(VERSION_MAX_LENGTH), nullable=False),
    Column("yanked", Boolean, nullable=False),
    Column("yanked_reason", Text, nullable=True),
    Column("requires_python", Text, nullable=True),
    Column("info", Text, nullable=True, comment="the release's own pypi.org info (JSON), if known"),
    UniqueConstraint("project_id", "version", name="uq_metadata_releases_project_version"),
)

metadata_files = Table(
    "metadata_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "project_id",
        Integer,
        ForeignKey("metadata_projects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column(
        "release_id",
        Integer,
        ForeignKey("metadata_releases.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("filename", String(512), nullable=False),
    Column("packagetype", String(32), nullable=False),
    Column("python_version", String(64), nullable=False),
    Column("requires_python", Text, nullable=True),
    Column("size", BigInteger, nullable=True),
    Column("upload_time", DateTime, nullable=True, comment="UTC, naive, microseconds kept"),
    Column("md5", String(DIGEST_MAX_LENGTHS["md5"]), nullable=True),
    Column("sha256", String(DIGEST_MAX_LENGTHS["sha256"]), nullable=True),
    Column("blake2b_256", String(DIGEST_MAX_LENGTHS["blake2b_256"]), nullable=True),
    Column("url", Text, nullable=False),
    Column("yanked", Boolean, nullable=False),
    Column("yanked_reason", Text, nullable=True),
    Column("comment_text", Text, nullable=True),
    Column("core_metadata", Text, nullable=True, comment="PEP 714 (JSON): hashes or true"),
)
# A file whose core metadata is not known yet. Whether a project has such files is asked
# before its Simple page is made, in one lookup: through ``project_id``'s index it read every
# file of the project. Queries filter by this same expression, which the index's predicate
# must match for the database to use it.
CORE_METADATA_UNKNOWN = metadata_files.c.core_metadata.is_(None)
Index(
    "ix_metadata_files_unknown_core_metadata",
    metadata_files.c.project_id,
    sqlite_where=CORE_METADATA_UNKNOWN,
    postgresql_where=CORE_METADATA_UNKNOWN,
)
