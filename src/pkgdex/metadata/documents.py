"""Reading PyPI JSON API documents (from the upstream or from import files) into checked values.

Anything that is not a well-formed pypi.org document raises :class:`MalformedDocumentError` before a
single row is written, so a bad upstream answer or import line never damages the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from itertools import chain
from operator import attrgetter
from typing import Any

import orjson
from packaging.utils import canonicalize_name
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pkgdex.metadata.models import (
    BIGINT_MAX,
    DIGEST_MAX_LENGTHS,
    NAME_MAX_LENGTH,
    VERSION_MAX_LENGTH,
)


class MalformedDocumentError(ValueError):
    """Not a PyPI JSON API document pkgdex can store."""


class FileDoc(BaseModel):
    """One distribution file as the JSON API lists it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    filename: str = Field(min_length=1, max_length=512)
    url: str = Field(min_length=1)
    packagetype: str = Field("", max_length=32)
    python_version: str = Field("", max_length=64)
    requires_python: str | None = None
    size: int | None = Field(None, ge=0, le=BIGINT_MAX)
    upload_time_iso_8601: datetime | None = None
    upload_time: datetime | None = None
    digests: dict[str, str | None] = Field(default_factory=dict)
    md5_digest: str | None = Field(None, max_length=DIGEST_MAX_LENGTHS["md5"])
    yanked: bool = False
    yanked_reason: str | None = None
    comment_text: str | None = None
    core_metadata: dict[str, str] | bool | None = None

    @field_validator("digests")
    @classmethod
    def _digests_fit(cls, value: dict[str, str | None]) -> dict[str, str | None]:
        problem = digests_too_long(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("upload_time_iso_8601", "upload_time")
    @classmethod
    def _in_utc_range(cls, value: datetime | None) -> datetime | None:
        """A time with an offset must still be a time in UTC (year 1 at +23:59 is not)."""
        if value is not None and value.tzinfo is not None:
            try:
                value.astimezone(UTC)
            except OverflowError:
                raise ValueError("upload time out of range in UTC") from None
        return value

    def uploaded_utc(self) -> datetime | None:
        """The upload time as naive UTC (how pypi.org formats it back out)."""
        stamp = self.upload_time_iso_8601 or self.upload_time
        if stamp is None:
            return None
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(UTC).replace(tzinfo=None)
        return stamp


def digests_too_long(digests: Mapping[str, Any]) -> str | None:
    """Which digest pkgdex stores is longer than its column (None: none is). Only
    PostgreSQL enforces a column's length, so it is checked here for every database."""
    for key, limit in DIGEST_MAX_LENGTHS.items():
        value = digests.get(key)
        if value is not None and len(value) > limit:
            return f"{key} is longer than {limit} characters"
    return None


class InfoDoc(BaseModel):
    """The parts of ``info`` pkgdex relies on; the whole mapping is stored as it came."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH)
    version: str = Field(min_length=1, max_length=VERSION_MAX_LENGTH)
    summary: str | None = None  # the name index keeps it
    yanked: bool = False
    yanked_reason: str | None = None
    requires_python: str | None = None


class PyPIDocument(BaseModel):
    """A project document (``releases`` present) or a single-release document (absent)."""

    model_config = ConfigDict(extra="ignore")

    info: InfoDoc
    last_serial: int = Field(0, ge=0, le=BIGINT_MAX)
    releases: dict[str, list[FileDoc]] | None = None
    urls: list[FileDoc] = Field(default_factory=list)
    info_raw: dict[str, Any] = Field(default_factory=dict, exclude=True)

    @field_validator("releases")
    @classmethod
    def _short_versions(
        cls, value: dict[str, list[FileDoc]] | None
    ) -> dict[str, list[FileDoc]] | None:
        for version in value or {}:
            if not version or len(version) > VERSION_MAX_LENGTH:
                raise ValueError(f"bad release version {version[:40]!r}")
        return value

    @property
    def canonical_name(self) -> str:
        return canonicalize_name(self.info.name)

    @property
    def is_project(self) -> bool:
        return self.releases is not None


def parse_document(data: Any, *, expected_name: str | None = None) -> PyPIDocument:
    """Check ``data`` is a PyPI JSON document (for ``expected_name`` when given)."""
    if not isinstance(data, dict):
        raise MalformedDocumentError("a PyPI JSON document is an object")
    try:
        doc = PyPIDocument.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MalformedDocumentError(f"{where}: {first['msg']}") from exc
    nul = where_nul(doc)
    if nul is not None:
        raise MalformedDocumentError(f"{nul}: holds a NUL character, which is not stored")
    if expected_name is not None and doc.canonical_name != expected_name:
        raise MalformedDocumentError(f"asked for {expected_name!r}, got {doc.info.name!r}")
    doc.info_raw = dict(data["info"])
    problem = unwritable(doc.info_raw)  # stored and answered as JSON
    if problem is not None:
        raise MalformedDocumentError(f"info: {problem}")
    return doc


# The texts stored in columns of their own. PostgreSQL's text holds no NUL character (nor does
# pypi.org, which runs on it), so one is refused on every database alike; ``info`` is stored
# as JSON, where a NUL is written as an escape.
INFO_TEXTS = ("name", "version", "summary", "yanked_reason", "requires_python")
FILE_TEXTS = (
    "filename", "url", "packagetype", "python_version", "requires_python", "md5_digest",
    "yanked_reason", "comment_text",
)  # fmt: skip
_info_texts, _file_texts = attrgetter(*INFO_TEXTS), attrgetter(*FILE_TEXTS)


def where_nul(doc: PyPIDocument) -> str | None:
    """Where a text of ``doc`` stored in a column of its own holds a NUL character (None:
    nowhere). All of them are joined and looked through at once, and only a document that
    holds one is walked value by value to say where: a pattern on each field, in pydantic's
    core, cost half as much again (``benchmarks/metadata_document_check.py``)."""
    releases = doc.releases or {}
    files = [*chain.from_iterable(releases.values()), *doc.urls]
    texts = [*releases, *filter(None, _info_texts(doc.info))]
    for f in files:
        texts += filter(None, _file_texts(f))
        texts += filter(None, f.digests.values())
        if type(f.core_metadata) is dict:
            texts += f.core_metadata.values()
    if "\x00" not in "".join(texts):
        return None
    return next(where for where, text in located_texts(doc) if text and "\x00" in text)


def located_texts(doc: PyPIDocument) -> Iterator[tuple[str, str | None]]:
    """Every text ``where_nul`` looks through, with where it is."""
    yield from zip((f"info.{key}" for key in INFO_TEXTS), _info_texts(doc.info), strict=True)
    located = [(f"urls.{i}", f) for i, f in enumerate(doc.urls)]
    for version, files in (doc.releases or {}).items():
        yield f"releases.{version}", version
        located += [(f"releases.{version}.{i}", f) for i, f in enumerate(files)]
    for where, f in located:
        yield from zip((f"{where}.{key}" for key in FILE_TEXTS), _file_texts(f), strict=True)
        yield from ((f"{where}.digests.{key}", v) for key, v in f.digests.items())
        if type(f.core_metadata) is dict:
            yield from ((f"{where}.core_metadata.{k}", v) for k, v in f.core_metadata.items())


def unwritable(value: Any) -> str | None:
    """Why ``value``, read from JSON, cannot be written back as JSON (None: it can). orjson
    reads 1,024 levels of nesting and writes 254, so what pkgdex stores or answers as JSON
    must pass this as well as the parse."""
    try:
        orjson.dumps(value)
    except TypeError as exc:
        return str(exc)
    return None


def looks_like_pypi(data: Any) -> bool:
    """A cheap test telling PyPI JSON documents from npm packuments during imports."""
    return isinstance(data, dict) and isinstance(data.get("info"), dict)
