"""Long-running work of the metadata domain, shared by the CLI and the server.

``import_documents`` fills an air-gapped mirror from files: PyPI JSON API documents are stored
here, npm packuments are handed to the npm registry domain. The import checks every document
before writing any, so a bad line leaves the store as it was.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from packaging.utils import canonicalize_name
from sqlalchemy import Engine

from pkgdex.index.jobs import record_seen
from pkgdex.metadata import demo, services
from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.documents import MalformedDocumentError, PyPIDocument, looks_like_pypi
from pkgdex.metadata.documents import parse_document as parse_pypi
from pkgdex.metadata.upstream import UpstreamError

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
    ``.json``/``.jsonl`` file, gzip allowed). Raises :class:`ImportRejectedError` listing the bad
    documents without writing anything."""
    problems = [problem for _, _, problem in _checked(path) if problem]
    if problems:
        raise ImportRejectedError(problems)
    report = ImportReport()
    pypi_docs: list[PyPIDocument] = []
    for kind, doc, _ in _checked(path):
        if kind == "npm":
            _import_packument(engine, doc)
            report.npm += 1
        else:
            pypi_docs.append(doc)
            if len(pypi_docs) >= 200:
                _store_pypi(engine, pypi_docs, report)
                pypi_docs = []
    _store_pypi(engine, pypi_docs, report)
    return report


def sync_names(cache: PyPICache, names: Iterable[str]) -> list[SyncResult]:
    """Refresh each name from the upstream now, whatever its age."""
    results = []
    for raw in names:
        name = canonicalize_name(raw)
        try:
            state = cache.refresh(name, force=True)
        except UpstreamError as exc:
            results.append(SyncResult(raw, "failed", exc.message))
            continue
        outcome = "updated" if state.status == 200 else "not found"
        results.append(SyncResult(raw, outcome, f"serial {state.last_serial}"))
    return results


def load_demo(engine: Engine) -> None:
    """Fill the demo database with this domain's bundled illustration projects."""
    _store_pypi(engine, [parse_pypi(doc) for doc in demo.documents()], ImportReport())


def _store_pypi(engine: Engine, docs: list[PyPIDocument], report: ImportReport) -> None:
    if not docs:
        return
    new: list[PyPIDocument] = []
    with engine.begin() as conn:
        for doc in docs:
            if services.store_document(conn, doc, fetched_at=time.time()).is_new:
                new.append(doc)
    report.pypi += len(docs)
    for doc in new:
        report.new_projects.append(doc.info.name)
        try:
            tell_name_index(engine, doc)
        except Exception:  # the name index is a courtesy; the import itself succeeded
            log.exception("could not record %s in the name index", doc.info.name)


def _checked(path: Path) -> Iterator[tuple[str, Any, str | None]]:
    """(kind, parsed document, problem) for every document under ``path``."""
    for where, data in _documents(path):
        if isinstance(data, _Unreadable):
            yield "bad", None, f"{where}: {data.reason}"
        elif looks_like_pypi(data):
            try:
                yield "pypi", parse_pypi(data), None
            except MalformedDocumentError as exc:
                yield "bad", None, f"{where}: not a PyPI JSON document ({exc})"
        else:
            problem = _packument_problem(data)
            yield "npm", data, (f"{where}: {problem}" if problem else None)


@dataclass(frozen=True)
class _Unreadable:
    reason: str


def _documents(path: Path) -> Iterator[tuple[str, Any]]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _is_json_file(p))
        for file in files:
            yield from _file_documents(file)
    elif path.is_file():
        yield from _file_documents(path)
    else:
        yield str(path), _Unreadable("no such file or directory")


def _is_json_file(path: Path) -> bool:
    name = path.name.removesuffix(".gz")
    return name.endswith((".json", *JSONL_SUFFIXES))


def _file_documents(path: Path) -> Iterator[tuple[str, Any]]:
    name = path.name.removesuffix(".gz")
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
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _parse(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return _Unreadable(f"not JSON ({exc})")


def _packument_problem(data: Any) -> str | None:
    try:  # imported here, as in _import_packument
        from pkgdex.npmregistry.packument import InvalidPackumentError, check_packument
    except ImportError:
        return "neither a PyPI JSON document nor an npm packument"
    try:
        check_packument(data)
    except InvalidPackumentError as exc:
        return f"neither a PyPI JSON document nor an npm packument ({exc})"
    return None


def _import_packument(engine: Engine, doc: Any) -> None:
    # Imported here: pkgdex.npmregistry imports this package's upstream engine.
    from pkgdex.npmregistry.jobs import import_packument

    import_packument(engine, doc)
