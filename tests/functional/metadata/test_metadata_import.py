"""``pkgdex metadata import`` and ``pkgdex metadata sync`` from the command line."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from pkgdex.cli import app
from pkgdex.metadata import jobs, services
from pkgdex.metadata.models import metadata_files, metadata_projects, metadata_releases
from pkgdex.npmregistry.models import npm_packuments
from support.fake_npm import make_packument
from support.fake_pypi import FakePyPI, standard_projects

ClientFactory = Callable[..., TestClient]


V1_JSON = "application/vnd.pypi.simple.v1+json"


def run(database_url: str, *args: str, **env: str) -> Any:
    environment = {"PKGDEX_DATABASE_URL": database_url, **env}
    return CliRunner().invoke(app, ["metadata", *args], env=environment)


_DEEP = b"[" * 300 + b"1" + b"]" * 300
_DEEPER = b"[" * 1100 + b"1" + b"]" * 1100


def docs() -> dict[str, dict[str, Any]]:
    return {p.name: p.doc() for p in standard_projects()}


def write_json(path: Path, doc: object, *, gz: bool = False) -> None:
    raw = orjson.dumps(doc)
    path.write_bytes(gzip.compress(raw) if gz else raw)


def counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (metadata_projects, metadata_releases, metadata_files)
        )


def test_import_a_directory_then_serve_offline(
    database_url: str, tmp_path: Path, make_client: ClientFactory
) -> None:
    everything = docs()
    write_json(tmp_path / "sample.json", everything["sampleproject"])
    write_json(tmp_path / "zope.json.gz", everything["Zope.Interface_Extra"], gz=True)
    (tmp_path / "notes.txt").write_text("not a document, not read")
    result = run(database_url, "import", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "imported 2 PyPI document(s)" in result.output
    client = make_client()  # offline
    assert client.get("/pypi/sampleproject/json").json() == everything["sampleproject"]
    assert client.get("/simple/zope-interface-extra/").status_code == 200
    hits = client.get("/pypi/search", params={"q": "sampleproject"}).json()["results"]
    assert [h["version"] for h in hits] == ["3.0.0"]


def test_import_jsonl_with_npm_packuments(
    database_url: str, tmp_path: Path, make_client: ClientFactory
) -> None:
    everything = docs()
    packument = make_packument("https://registry.example.org", "left-pad", ["1.0.0", "1.1.0"])
    lines = [everything["big-project"], packument, everything["only-pre"]]
    path = tmp_path / "mirror.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(orjson.dumps(d) for d in lines) + b"\n\n"))
    result = run(database_url, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "imported 2 PyPI document(s) and 1 npm packument(s)" in result.output
    client = make_client()
    assert len(client.get("/pypi/big-project/json").json()["releases"]) == 500
    assert client.get("/registry/npm/left-pad").json()["name"] == "left-pad"


def test_a_release_document_adds_that_release_info(
    database_url: str, tmp_path: Path, make_client: ClientFactory
) -> None:
    sample = next(p for p in standard_projects() if p.name == "sampleproject")
    write_json(tmp_path / "a.json", sample.doc())
    write_json(tmp_path / "b.json", sample.version_doc("2.0.0"))
    assert run(database_url, "import", str(tmp_path)).exit_code == 0
    body = make_client().get("/pypi/sampleproject/2.0.0/json").json()
    assert body == sample.version_doc("2.0.0")


@pytest.mark.parametrize(
    "bad",
    [
        b'{"info": {"name": "x"}}',  # no version
        b'{"info": {"name": "x", "version": "1"}, "releases": {"1": [{"url": 3}]}}',
        b"{not json",
        b'{"name": "Not A Valid npm Name!", "versions": {}}',
        b"[1, 2]",
        # Read (orjson reads 1,024 levels), but never written back as JSON (254).
        b'{"info": {"name": "x", "version": "1", "odd": ' + _DEEP + b'}, "releases": {}}',
        b'{"name": "deep", "versions": {}, "readme": ' + _DEEP + b"}",
        b'{"info": {"name": "x", "version": "1", "odd": ' + _DEEPER + b'}, "releases": {}}',
        # No PostgreSQL text column holds a NUL: refused on every database alike.
        b'{"info": {"name": "x", "version": "1"}, "releases": {"1": [{"filename": "x.whl",'
        b' "url": "https://f.example/x.whl", "comment_text": "a\\u0000b"}]}}',
        b'{"info": {"name": "x", "version": "1"}, "releases": {"1\\u0000": []}}',
        b'{"info": {"name": "x", "version": "1", "summary": "\\u0000"}, "releases": {}}',
        b'{"name": "nul", "dist-tags": {"latest": "1.0\\u0000"}, "versions": {"1.0\\u0000": {}}}',
        b'{"name": "nul", "versions": {}, "time": {"modified": "2024\\u0000"}}',
        # Longer than their columns, which only PostgreSQL enforces.
        b'{"name": "long", "dist-tags": {"latest": "1.' + b"0" * 300 + b'"}, "versions": {"1.'
        + b"0" * 300 + b'": {}}}',
        b'{"name": "long", "versions": {}, "time": {"modified": "2024-' + b"0" * 60 + b'"}}',
    ],
    ids=["no version", "a url not text", "not json", "a bad npm name", "a list",
         "pypi info too deep", "npm packument too deep", "past what is read",
         "nul in a file", "nul in a version", "nul in the summary", "nul in npm's latest",
         "nul in npm's modified", "npm's latest too long", "npm's modified too long"],
)  # fmt: skip
def test_one_bad_document_imports_nothing(
    database_url: str, engine: Engine, tmp_path: Path, bad: bytes
) -> None:
    good = orjson.dumps(docs()["sampleproject"])
    (tmp_path / "docs.jsonl").write_bytes(good + b"\n" + bad + b"\n")
    result = run(database_url, "import", str(tmp_path / "docs.jsonl"))
    assert result.exit_code == 2
    assert "docs.jsonl:2" in result.output
    assert "nothing was imported" in result.output
    assert counts(engine) == (0, 0, 0)


def test_reimport_replaces_without_duplicates(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    write_json(tmp_path / "big.json", docs()["big-project"])
    assert run(database_url, "import", str(tmp_path)).exit_code == 0
    first = counts(engine)
    assert run(database_url, "import", str(tmp_path)).exit_code == 0
    assert counts(engine) == first == (1, 500, 1000)


def test_documents_naming_the_same_thing_are_reported_and_the_later_kept(
    database_url: str, tmp_path: Path, make_client: ClientFactory
) -> None:
    sample = next(p for p in standard_projects() if p.name == "sampleproject")
    older = sample.doc()
    newer = {**older, "last_serial": older["last_serial"] + 1}
    left_pad = make_packument("https://registry.example.org", "left-pad", ["1.0.0"])
    lines = [
        older,
        sample.version_doc("2.0.0"),
        left_pad,
        sample.version_doc("2.0"),  # the same release, spelled otherwise
        _renamed(newer, "SampleProject"),  # the same project, spelled otherwise
        make_packument("https://registry.example.org", "left-pad", ["1.0.0", "1.1.0"]),
        sample.version_doc("3.0.0"),  # another release, from the older serial: not a repeat
    ]
    (tmp_path / "docs.jsonl").write_bytes(b"\n".join(orjson.dumps(d) for d in lines))
    result = run(database_url, "import", str(tmp_path / "docs.jsonl"))
    assert result.exit_code == 0, result.output
    assert "3 document(s) named what an earlier one did" in result.output
    where = tmp_path / "docs.jsonl"
    assert f"PyPI project sampleproject: {where}:1, then {where}:5" in result.output
    assert f"PyPI release sampleproject 2.0.0: {where}:2, then {where}:4" in result.output
    assert f"npm package left-pad: {where}:3, then {where}:6" in result.output
    client = make_client()
    # A release document replaces its release, not the project's newer serial.
    assert client.get("/pypi/sampleproject/json").json()["last_serial"] == newer["last_serial"]
    assert client.get("/registry/npm/left-pad").json()["dist-tags"]["latest"] == "1.1.0"


def test_a_directory_without_repeats_reports_none(database_url: str, tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", docs()["sampleproject"])
    write_json(tmp_path / "b.json", docs()["only-pre"])
    result = run(database_url, "import", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "named what an earlier one did" not in result.output


def test_a_failure_while_writing_rolls_back_every_document(
    database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # More documents than any batch, npm among them, and the last one fails to store.
    packument = make_packument("https://registry.example.org", "left-pad", ["1.0.0"])
    lines = [packument] + [_renamed(docs()["sampleproject"], f"p{i}") for i in range(250)]
    (tmp_path / "docs.jsonl").write_bytes(b"\n".join(orjson.dumps(d) for d in lines))
    real = services.store_document
    calls = iter(range(250))

    def failing_last(conn: Any, doc: Any, **kwargs: Any) -> Any:
        if next(calls) == 249:
            raise OverflowError("Python int too large to convert to SQLite INTEGER")
        return real(conn, doc, **kwargs)

    monkeypatch.setattr(services, "store_document", failing_last)
    result = run(database_url, "import", str(tmp_path / "docs.jsonl"))
    assert result.exit_code == 1
    assert "could not store the documents" in result.output
    assert "nothing was imported" in result.output
    assert counts(engine) == (0, 0, 0)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(npm_packuments)).scalar_one() == 0


def _renamed(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return {**doc, "info": {**doc["info"], "name": name}}


@pytest.mark.parametrize("files", [{}, {"notes.txt": b"x"}, {"empty.jsonl": b"\n\n"}])
def test_nothing_to_import_is_an_error(
    database_url: str, tmp_path: Path, files: dict[str, bytes]
) -> None:
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    result = run(database_url, "import", str(tmp_path))
    assert result.exit_code == 2
    assert "no .json, .jsonl or .ndjson documents" in result.output


def test_file_names_are_matched_whatever_their_case(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    write_json(tmp_path / "SAMPLE.JSON", docs()["sampleproject"])
    write_json(tmp_path / "Only-Pre.Json.GZ", docs()["only-pre"], gz=True)
    result = run(database_url, "import", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "imported 2 PyPI document(s)" in result.output


def test_a_folder_that_cannot_be_listed_imports_nothing(
    database_url: str, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (Root lists any folder, so the refusal is made by hand.)
    write_json(tmp_path / "sample.json", docs()["sampleproject"])
    real_walk = jobs.os.walk

    def walk(top: Any, onerror: Any = None) -> Any:
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "secret")))
        return real_walk(top, onerror=onerror)

    monkeypatch.setattr(jobs.os, "walk", walk)
    result = run(database_url, "import", str(tmp_path))
    assert result.exit_code == 2
    assert "cannot list" in result.output and "secret" in result.output
    assert counts(engine) == (0, 0, 0)


def test_missing_path_is_a_clear_error(database_url: str, tmp_path: Path) -> None:
    result = run(database_url, "import", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "no such file or directory" in result.output


def test_sync_fetches_from_the_upstream(
    database_url: str, engine: Engine, make_client: ClientFactory
) -> None:
    with FakePyPI() as fake:
        result = run(
            database_url,
            "sync",
            "sampleproject",
            "No-Such-Project",
            PKGDEX_PYPI_UPSTREAM=fake.url,
            PKGDEX_OFFLINE="0",
        )
        assert result.exit_code == 0, result.output
        assert "updated sampleproject serial 100" in result.output
        assert "not found No-Such-Project" in result.output
        again = run(database_url, "sync", "sampleproject", PKGDEX_PYPI_UPSTREAM=fake.url)
        assert again.exit_code == 0
        assert fake.count("/pypi/sampleproject/json") == 2  # sync always asks
        assert fake.count("/simple/sampleproject/") == 1  # its files' core metadata, once
        fake.fault = "status"
        failed = run(database_url, "sync", "sampleproject", PKGDEX_PYPI_UPSTREAM=fake.url)
        assert failed.exit_code == 1
        assert "failed sampleproject" in failed.output
    assert make_client().get("/pypi/sampleproject/json").status_code == 200
    page = make_client().get("/simple/sampleproject/", headers={"Accept": V1_JSON}).json()
    wheel = "sampleproject-1.0.0-py3-none-any.whl"
    (entry,) = [f for f in page["files"] if f["filename"] == wheel]
    assert set(entry["core-metadata"]) == {"sha256"}  # learnt by sync, kept offline
