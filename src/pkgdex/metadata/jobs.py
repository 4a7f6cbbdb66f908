"""Long-running work of the metadata domain, shared by the CLI and the server.

``import_documents`` fills an air-gapped mirror from files: PyPI JSON API documents are stored
here, npm packuments are handed to the npm registry domain. The import checks every document
before writing any and writes them all in one transaction, so a bad line, or a failure while
writing, leaves the store as it was.
"""

from __future__ import annotations

import gzip
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from packaging.utils import canonicalize_name
from sqlalchemy import Connection, Engine

from pkgdex.index.jobs import record_seen
from pkgdex.metadata import coremetadata, demo, services
from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.documents import (
    MalformedDocumentError,
    PyPIDocument,
    looks_like_pypi,
    unwritable,
)
from pkgdex.metadata.documents import parse_document as parse_pypi
from pkgdex.metadata.upstream import UpstreamError
from pkgdex.metadata.versions import canonical_version

log = logging.getLogger(__name__)
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class ImportRejectedError(ValueError):
    """The import found bad documents; nothing was written."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} bad document(s); first: {problems[0]}")
        self.problems = problems


@dataclass
class ImportReport:
    pypi: int = 0
    npm: int = 0
    new_projects: list[str] = field(default_factory=list)
    # Documents that name a project (or release, or packument) an earlier one named: the later
    # replaced it, as a later sync would. Said, because a mirror dump that repeats itself is
    # more often a mistake than a replay.
    repeated: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SyncResult:
    name: str
    outcome: str  # "updated", "not found", "failed"
    detail: str = ""


def tell_name_index(engine: Engine, doc: PyPIDocument) -> None:
    """Let the name index learn a project pkgdex has just seen for the first time."""
    record_seen(engine, "pypi", doc.info.name, doc.info.version, doc.info.summary)


def import_documents(engine: Engine, path: Path) -> ImportReport:
    """Import every document under ``path`` (a directory of ``.json[.gz]`` files, or one
    ``.json``/``.jsonl`` file, gzip allowed) in one transaction: all or nothing. Raises
    :class:`ImportRejectedError` listing the bad documents (or saying there were none) without
    writing anything; a failure while storing rolls every document back."""
    problems, found, report = [], 0, ImportReport()
    first_seen: dict[tuple[str, ...], str] = {}  # what a document names -> where it was first
    for where, kind, doc, problem in _checked(path):
        found += 1
        if problem:
            problems.append(problem)
            continue
        named, label = _what_it_names(kind, doc)
        if named in first_seen:
            report.repeated.append(f"{label}: {first_seen[named]}, then {where}")
        first_seen.setdefault(named, where)
    if not found:
        problems.append(f"{path}: no .json, .jsonl or .ndjson documents (gzip allowed) found")
    if problems:
        raise ImportRejectedError(problems)
    _store(engine, ((kind, doc) for _, kind, doc, _ in _checked(path)), report)
    return report


def _what_it_names(kind: str, doc: Any) -> tuple[tuple[str, ...], str]:
    """What a checked document replaces when stored (two documents that name the same replace
    one another), and how to say it."""
    if kind == "npm":
        return ("npm", doc["name"]), f"npm package {doc['name']}"
    name, version = doc.canonical_name, doc.info.version
    if doc.is_project:
        return ("pypi", name), f"PyPI project {name}"
    return ("pypi", name, canonical_version(version)), f"PyPI release {name} {version}"


def sync_names(cache: PyPICache, names: Iterable[str]) -> list[SyncResult]:
    """Refresh each name from the upstream now, whatever its age, with the core metadata of
    its files (as its Simple page learns it), so that a mirror taken offline has it too."""
    results = []
    for raw in names:
        name = canonicalize_name(raw)
        try:
            state = cache.refresh(name, force=True)
        except UpstreamError as exc:
            results.append(SyncResult(raw, "failed", exc.message))
            continue
        if state.status == 200:
            state = coremetadata.complete(cache, state)
        outcome = "updated" if state.status == 200 else "not found"
        results.append(SyncResult(raw, outcome, f"serial {state.last_serial}"))
    return results


def load_demo(engine: Engine) -> None:
    """Fill the demo database with this domain's bundled illustration projects."""
    _store(engine, (("pypi", parse_pypi(doc)) for doc in demo.documents()), ImportReport())


def _store(engine: Engine, documents: Iterable[tuple[str, Any]], report: ImportReport) -> None:
    """Store checked documents (kind, document) in one transaction, then tell the name index
    about them (a courtesy, once they are committed)."""
    seen: list[tuple[str, str, str | None, str | None]] = []  # ecosystem, name, version, summary
    with engine.begin() as conn:
        for kind, doc in documents:
            if kind == "npm":
                seen.append(("npm", *_store_packument(conn, doc)))
                report.npm += 1
                continue
            report.pypi += 1
            if services.store_document(conn, doc, fetched_at=time.time()).is_new:
                report.new_projects.append(doc.info.name)
                seen.append(("pypi", doc.info.name, doc.info.version, doc.info.summary))
    for ecosystem, name, version, summary in seen:
        _tell_name_index(engine, ecosystem, name, version, summary)


def _tell_name_index(
    engine: Engine, ecosystem: str, name: str, version: str | None, summary: str | None
) -> None:
    if version is None:  # a packument with no latest version: nothing to tell
        return
    try:
        record_seen(engine, ecosystem, name, version, summary)
    except Exception:  # the name index is a courtesy; the import itself succeeded
        log.exception("could not record %s in the name index", name)


def _checked(path: Path) -> Iterator[tuple[str, str, Any, str | None]]:
    """(where, kind, parsed document, problem) for every document under ``path``."""
    for where, data in _documents(path):
        if isinstance(data, _Unreadable):
            yield where, "bad", None, f"{where}: {data.reason}"
        elif looks_like_pypi(data):
            try:
                yield where, "pypi", parse_pypi(data), None
            except MalformedDocumentError as exc:
                yield where, "bad", None, f"{where}: not a PyPI JSON document ({exc})"
        else:
            problem = _packument_problem(data)
            yield where, "npm", data, (f"{where}: {problem}" if problem else None)


@dataclass(frozen=True)
class _Unreadable:
    reason: str


def _documents(path: Path) -> Iterator[tuple[str, Any]]:
    if path.is_dir():
        unlisted: list[str] = []
        for file in _json_files(path, unlisted):
            yield from _file_documents(file)
        for problem in unlisted:
            yield str(path), _Unreadable(problem)
    elif path.is_file():
        yield from _file_documents(path)
    else:
        yield str(path), _Unreadable("no such file or directory")


def _json_files(root: Path, unlisted: list[str]) -> list[Path]:
    """The document files under ``root``, in order; each folder that could not be listed is
    added to ``unlisted`` (``rglob`` would skip it silently)."""

    def note(error: OSError) -> None:
        unlisted.append(f"cannot list {error.filename}: {error.strerror}")

    found = [
        Path(folder, name)
        for folder, _, names in os.walk(root, onerror=note)
        for name in names
        if _is_json_file(Path(folder, name))
    ]
    return sorted(f for f in found if f.is_file())


def _is_json_file(path: Path) -> bool:
    name = path.name.lower().removesuffix(".gz")
    return name.endswith((".json", *JSONL_SUFFIXES))


def _file_documents(path: Path) -> Iterator[tuple[str, Any]]:
    name = path.name.lower().removesuffix(".gz")
    try:
        with _open(path) as stream:
            if name.endswith(JSONL_SUFFIXES):
                for number, line in enumerate(stream, start=1):
                    if line.strip():
                        yield f"{path}:{number}", _parse(line)
            else:
                yield str(path), _parse(stream.read())
    except (OSError, EOFError) as exc:
        yield str(path), _Unreadable(f"cannot read: {exc}")


def _open(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _parse(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _Unreadable(f"not JSON ({exc})")


def _packument_problem(data: Any) -> str | None:
    try:  # imported here, as in _store_packument
        from pkgdex.npmregistry.packument import InvalidPackumentError, check_packument
    except ImportError:
        return "neither a PyPI JSON document nor an npm packument"
    try:
        check_packument(data)
    except InvalidPackumentError as exc:
        return f"neither a PyPI JSON document nor an npm packument ({exc})"
    problem = unwritable(data)  # an imported packument is stored as written again
    if problem is not None:
        return f"an npm packument that cannot be written back as JSON ({problem})"
    return None


def _store_packument(conn: Connection, doc: Any) -> tuple[str, str | None, str | None]:
    """Store a checked packument; (name, latest version, summary) for the name index."""
    # Imported here: pkgdex.npmregistry imports this package's upstream engine.
    from pkgdex.npmregistry.jobs import store_packument

    documents = store_packument(conn, doc)
    return documents.name, documents.latest, documents.summary
