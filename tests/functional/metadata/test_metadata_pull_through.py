"""The pull-through: TTLs, remembered 404s, upstream faults with and without a cached copy,
offline mode, and concurrent misses sharing one upstream request."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.models import metadata_files, metadata_projects, metadata_releases
from support.fake_pypi import FakePyPI, refused_url, sorted_json

PyPIClient = Callable[..., TestClient]

PROJECT = "/pypi/sampleproject/json"
UPSTREAM = "/pypi/sampleproject/json"
# Each kind of answer made from a stored project: the JSON API's two, and the Simple API's.
STORED_ANSWERS = [PROJECT, "/pypi/sampleproject/2.0.0/json", "/simple/sampleproject/"]
STALE = '110 - "Response is Stale"'


def test_a_fresh_copy_is_served_without_asking_again(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client()
    first = client.get(PROJECT)
    for path in (PROJECT, "/simple/sampleproject/", "/pypi/sampleproject/3.0.0/json"):
        assert client.get(path).status_code == 200
    assert fake.count(UPSTREAM) == 1
    assert client.get(PROJECT).content == first.content
    assert "x-pkgdex-stale" not in first.headers


def test_an_expired_copy_is_revalidated_with_its_etag(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client(metadata_ttl_seconds=0)
    first = client.get(PROJECT)
    second = client.get(PROJECT)
    assert fake.count(UPSTREAM) == 2
    assert fake.not_modified == 1
    assert second.status_code == 200
    assert second.content == first.content


def test_an_etag_too_long_to_keep_only_costs_a_full_fetch(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    # Longer than the column that keeps it: storing it failed behind the answer on
    # PostgreSQL, so nothing was ever stored and every request asked again.
    fake.etag_padding = 600
    client = pypi_client(metadata_ttl_seconds=0)
    first = client.get(PROJECT)
    second = client.get(PROJECT)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert fake.not_modified == 0
    offline = pypi_client(offline=True)  # stored, whatever the database
    assert offline.get(PROJECT).content == first.content


def test_an_expired_copy_picks_up_upstream_changes(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    client = pypi_client(metadata_ttl_seconds=0)
    first = client.get(PROJECT)
    fake.projects["sampleproject"].last_serial = 101
    second = client.get(PROJECT)
    assert second.json()["last_serial"] == 101
    assert second.headers["etag"] != first.headers["etag"]


def test_upstream_404_is_remembered_for_the_negative_ttl(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client()
    for _ in range(3):
        assert client.get("/pypi/no-such-project/json").status_code == 404
    assert fake.count("/pypi/no-such-project/json") == 1
    forgetful = pypi_client(metadata_negative_ttl_seconds=0)
    forgetful.get("/pypi/no-such-project/json")
    assert fake.count("/pypi/no-such-project/json") == 2


FAULTS = [
    ("slow", 504, "upstream_timeout"),
    ("status", 502, "upstream_error"),
    ("malformed", 502, "upstream_malformed"),
    ("huge", 502, "upstream_too_large"),
    ("huge-chunked", 502, "upstream_too_large"),
    ("drip-headers", 504, "upstream_timeout"),
    ("bad-gzip", 502, "upstream_malformed"),
    ("redirect-loop", 502, "upstream_error"),
]


def test_faults_with_nothing_cached_are_clear_errors(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client(upstream_timeout_seconds=0.5, upstream_max_bytes=4 * 1024 * 1024)
    fake.slow_seconds = 3
    for fault, status, code in FAULTS:
        fake.fault = fault
        response = client.get(PROJECT)
        assert response.status_code == status, fault
        error = response.json()["error"]
        assert error["code"] == code, fault
        assert error["message"]
        assert client.get("/simple/sampleproject/").status_code == status


def test_faults_serve_the_stale_copy_untouched(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine
) -> None:
    client = pypi_client(
        metadata_ttl_seconds=0, upstream_timeout_seconds=0.5, upstream_max_bytes=4 * 1024 * 1024
    )
    good = client.get(PROJECT)
    release = client.get("/pypi/sampleproject/2.0.0/json")
    stored = _counts(engine)
    fake.slow_seconds = 3
    for fault, _, _ in FAULTS:
        fake.fault = fault
        stale = client.get(PROJECT)
        assert stale.status_code == 200, fault
        assert stale.content == good.content
        assert stale.headers["warning"] == STALE
        assert stale.headers["x-pkgdex-stale"] == "1"
        assert client.get("/pypi/sampleproject/2.0.0/json").content == release.content
        assert _counts(engine) == stored, fault
    fake.fault = None
    healed = client.get(PROJECT)
    assert "x-pkgdex-stale" not in healed.headers
    assert healed.content == good.content


Writer = Callable[[dict[str, Any]], bytes]


def refused_then_served_stale(
    client: TestClient,
    fake: FakePyPI,
    engine: Engine,
    path: str,
    *,
    bad: Writer,
    good: Writer = sorted_json,
) -> None:
    """``path``, with the upstream writing its documents with ``bad``: a clear 502 and nothing
    stored; once ``good`` has been stored, the stale copy, and the store left as it was. A
    never-seen project's Simple page is the upstream's own page, which is good: answered, and
    the document refused behind it."""
    fake.write = bad
    response = client.get(path)
    if path.startswith("/simple/"):
        assert response.status_code == 200
    else:
        assert response.status_code == 502, response.text
        assert response.json()["error"]["code"] == "upstream_malformed"
    assert _counts(engine) == (0, 0)
    fake.write = good
    fresh = client.get(path)
    assert fresh.status_code == 200
    stored = _counts(engine)
    fake.write = bad
    stale = client.get(path)
    assert stale.headers["x-pkgdex-stale"] == "1"
    assert stale.content == fresh.content
    assert _counts(engine) == stored


def _nested_in_info(depth: int) -> Writer:
    """A writer of documents whose info holds a list nested ``depth`` levels deep."""

    def write(doc: dict[str, Any]) -> bytes:
        doc["info"]["nested"] = "MARK"
        text = json.dumps(doc, separators=(",", ":"))
        return text.replace('"MARK"', "[" * depth + "1" + "]" * depth).encode()

    return write


@pytest.mark.parametrize("depth", [300, 1100], ids=["deeper than written", "deeper than read"])
@pytest.mark.parametrize("path", STORED_ANSWERS)
def test_info_nested_too_deep_is_refused(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, path: str, depth: int
) -> None:
    # orjson reads 1,024 levels and writes 254; msgspec stops at its own depth. Each is
    # refused as it comes, not a crash when it is decoded, answered or stored.
    refused_then_served_stale(
        pypi_client(metadata_ttl_seconds=0), fake, engine, path,
        bad=_nested_in_info(depth), good=_nested_in_info(0),
    )  # fmt: skip


def _files(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for files in (doc.get("releases") or {}).values() for f in files] + doc["urls"]


def _nul_in(place: str) -> Writer:
    """A writer of documents with a NUL character in one value pkgdex stores as a column."""

    def write(doc: dict[str, Any]) -> bytes:
        if place == "version":
            releases = doc.get("releases") or {}
            doc["releases"] = {f"{v}\x00" if v == "2.0.0" else v: f for v, f in releases.items()}
            doc["info"]["version"] += "\x00"
        elif place.startswith("info."):
            doc["info"][place[5:]] = "a\x00b"
        for f in _files(doc):
            if place == "digest":
                f["digests"]["sha256"] = f["digests"]["sha256"][:-1] + "\x00"
            elif place.startswith("file."):
                f[place[5:]] = f"{f[place[5:]] or ''}\x00"
        return sorted_json(doc)

    return write


def _too_long(place: str) -> Writer:
    """A writer of documents whose files' ``place`` digest is longer than its column."""

    def write(doc: dict[str, Any]) -> bytes:
        for f in _files(doc):
            if place == "md5_digest":  # stored as the md5 when the digests have none
                f["digests"]["md5"] = None
                f["md5_digest"] = "a" * 33
            else:
                f["digests"][place] = "a" * (33 if place == "md5" else 65)
        return sorted_json(doc)

    return write


@pytest.mark.parametrize("place", ["md5", "sha256", "blake2b_256", "md5_digest"])
@pytest.mark.parametrize("path", STORED_ANSWERS)
def test_a_digest_longer_than_its_column_is_refused(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, path: str, place: str
) -> None:
    # SQLite ignores a VARCHAR's length, PostgreSQL does not: were it answered, its write
    # would fail there behind the answer, and every request ask again.
    client = pypi_client(metadata_ttl_seconds=0)
    refused_then_served_stale(client, fake, engine, path, bad=_too_long(place))


NUL_PLACES = [
    "file.comment_text",
    "file.yanked_reason",
    "file.filename",
    "file.url",
    "file.requires_python",
    "file.packagetype",
    "file.python_version",
    "digest",
    "version",
    "info.requires_python",
]


@pytest.mark.parametrize("place", NUL_PLACES)
@pytest.mark.parametrize("path", STORED_ANSWERS)
def test_a_nul_character_in_a_stored_value_is_refused(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, path: str, place: str
) -> None:
    # pypi.org (PostgreSQL) cannot hold one, and no PostgreSQL text column can: were it
    # answered, the write behind the answer would fail there, and every request ask again.
    client = pypi_client(metadata_ttl_seconds=0)
    refused_then_served_stale(client, fake, engine, path, bad=_nul_in(place))


@pytest.mark.parametrize("path", STORED_ANSWERS)
def test_every_answer_says_how_old_its_copy_is(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine, path: str
) -> None:
    assert pypi_client().get(path).headers["age"] == "0"  # just fetched
    fetched = time.time() - 120
    with engine.begin() as conn:
        conn.execute(update(metadata_projects).values(fetched_at=fetched))
    client = pypi_client(offline=True)  # a new process: nothing remembered
    for _ in range(2):  # from the store, then from memory
        age = int(client.get(path).headers["age"])
        assert 120 <= age <= int(time.time() - fetched)
    etag = client.get(path).headers["etag"]
    assert int(client.get(path, headers={"If-None-Match": etag}).headers["age"]) >= 120


def test_a_stale_answer_is_older_than_its_ttl(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    client = pypi_client(metadata_ttl_seconds=1)
    client.get(PROJECT)
    time.sleep(2.1)
    fake.fault = "status"  # a 500
    stale = client.get(PROJECT)
    assert stale.headers["x-pkgdex-stale"] == "1"
    assert int(stale.headers["age"]) >= 2


def test_unreachable_upstream(make_client: object, pypi_client: PyPIClient) -> None:
    pypi_client().get(PROJECT)  # cache it through a reachable upstream first
    client = pypi_client(pypi_upstream=refused_url(), metadata_ttl_seconds=0)
    stale = client.get(PROJECT)
    assert stale.status_code == 200
    assert stale.headers["x-pkgdex-stale"] == "1"
    missing = client.get("/pypi/only-pre/json")
    assert missing.status_code == 502
    assert missing.json()["error"]["code"] == "upstream_unreachable"


def test_offline_never_calls_out(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    pypi_client().get(PROJECT)
    calls = fake.total()
    offline = pypi_client(offline=True, metadata_ttl_seconds=0)
    cached = offline.get(PROJECT)
    assert cached.status_code == 200
    assert "x-pkgdex-stale" not in cached.headers
    assert offline.get("/pypi/only-pre/json").status_code == 404
    assert offline.get("/simple/only-pre/").status_code == 404
    assert fake.total() == calls


def test_offline_release_without_its_own_info_is_derived(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    pypi_client().get(PROJECT)
    offline = pypi_client(offline=True)
    body = offline.get("/pypi/sampleproject/1.0.0/json").json()
    assert body["info"]["version"] == "1.0.0"
    # 3.0.0's dependencies are not 1.0.0's: unknown, so installers read the files instead.
    assert fake.projects["sampleproject"].doc()["info"]["requires_dist"]
    assert body["info"]["requires_dist"] is None and body["info"]["provides_extra"] is None
    assert body["info"]["release_url"] == "https://pypi.org/project/sampleproject/1.0.0/"
    assert [f["filename"] for f in body["urls"]] == [
        f["filename"] for f in fake.projects["sampleproject"].doc()["releases"]["1.0.0"]
    ]


def test_upstream_answering_for_another_project_is_refused(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    fake.projects["impostor"] = fake.projects["sampleproject"]
    response = pypi_client().get("/pypi/impostor/json")
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_malformed"


def test_concurrent_misses_make_one_upstream_request(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client: TestClient = pypi_client()
    cache: PyPICache = client.app.state.pypi_cache  # type: ignore[attr-defined]
    fake.delay = 0.3
    with ThreadPoolExecutor(100) as pool:
        states = list(pool.map(lambda _: cache.project("big-project"), range(100)))
    assert fake.count("/pypi/big-project/json") == 1
    assert {state.revision for state, _ in states} == {states[0][0].revision}


def test_the_name_index_learns_new_projects(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    assert client.get("/pypi/search", params={"q": "zope"}).json()["count"] == 0
    client.get("/pypi/zope-interface-extra/json")
    cache: PyPICache = client.app.state.pypi_cache  # type: ignore[attr-defined]
    cache.background.submit(lambda: None).result()  # after the answer: wait for it
    results = client.get("/pypi/search", params={"q": "zope"}).json()["results"]
    assert [(r["name"], r["version"]) for r in results] == [("Zope.Interface_Extra", "5.1")]


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        releases = conn.execute(select(func.count()).select_from(metadata_releases)).scalar_one()
        files = conn.execute(select(func.count()).select_from(metadata_files)).scalar_one()
    return releases, files


@pytest.mark.redis
def test_with_redis_the_flight_takes_and_releases_a_shared_lock(
    pypi_client: PyPIClient, fake: FakePyPI, redis_url: str
) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    client = pypi_client(redis_url=redis_url, redis_prefix=prefix)
    fake.delay = 0.2
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: client.get(PROJECT).status_code, range(20)))
    assert statuses == [200] * 20
    assert fake.count(UPSTREAM) == 1
    server = redis.Redis.from_url(redis_url)
    assert server.keys(f"{prefix}:singleflight:*") == []  # released, not left to expire
    server.close()


def test_release_info_unavailable_upstream_is_derived_and_marked_stale(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client()
    client.get(PROJECT)  # stores every release, but only 3.0.0's own info
    fake.fault = "status"
    response = client.get("/pypi/sampleproject/1.0.0/json")
    assert response.status_code == 200
    assert response.headers["x-pkgdex-stale"] == "1"
    assert response.json()["info"]["version"] == "1.0.0"
    assert response.json()["info"]["requires_dist"] is None
    fake.fault = None
    healed = client.get("/pypi/sampleproject/1.0.0/json")
    assert "x-pkgdex-stale" not in healed.headers
    assert healed.json() == fake.projects["sampleproject"].version_doc("1.0.0")
    assert fake.count("/pypi/sampleproject/1.0.0/json") == 2
    client.get("/pypi/sampleproject/1.0.0/json")
    assert fake.count("/pypi/sampleproject/1.0.0/json") == 2  # now stored


def test_a_refresh_keeps_release_infos_already_fetched(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client(metadata_ttl_seconds=0)
    client.get(PROJECT)
    first = client.get("/pypi/sampleproject/2.0.0/json").json()
    fake.projects["sampleproject"].last_serial = 150  # a changed document: a full refresh
    assert client.get(PROJECT).json()["last_serial"] == 150
    again = client.get("/pypi/sampleproject/2.0.0/json").json()
    assert again["info"] == first["info"]
    assert again["last_serial"] == 150
    assert fake.count("/pypi/sampleproject/2.0.0/json") == 1


def test_after_an_upstream_failure_stale_copies_are_served_without_waiting(
    pypi_client: PyPIClient, fake: FakePyPI, engine: Engine
) -> None:
    pypi_client().get(PROJECT)
    pypi_client().get("/pypi/only-pre/json")
    with engine.begin() as conn:  # both copies are now past their TTL
        conn.execute(update(metadata_projects).values(fetched_at=0.0))
    client = pypi_client(metadata_ttl_seconds=60, upstream_timeout_seconds=0.5)
    fake.fault, fake.slow_seconds = "slow", 3
    assert client.get(PROJECT).headers["x-pkgdex-stale"] == "1"  # waited for the timeout
    asked = fake.total()
    started = time.monotonic()
    for path in (PROJECT, "/pypi/only-pre/json"):
        assert client.get(path).headers["x-pkgdex-stale"] == "1"
    assert time.monotonic() - started < 0.4
    assert fake.total() == asked  # not asked again during the back-off


@pytest.mark.parametrize(("fault", "spared"), [("status", True), ("malformed", False)])
def test_only_an_upstream_that_is_down_spares_other_projects_from_asking(
    pypi_client: PyPIClient, fake: FakePyPI, fault: str, spared: bool
) -> None:
    # A failing upstream is not asked again for a while; one unusable document says nothing
    # about the others, which are still asked for (and may well be fine).
    client = pypi_client(metadata_ttl_seconds=1)
    client.get(PROJECT)
    client.get("/pypi/only-pre/json")
    time.sleep(1.1)  # both stale now
    fake.fault = fault
    assert client.get(PROJECT).headers["x-pkgdex-stale"] == "1"
    fake.fault = None
    asked = fake.count("/pypi/only-pre/json")
    answer = client.get("/pypi/only-pre/json")
    assert answer.status_code == 200
    assert fake.count("/pypi/only-pre/json") == asked + (0 if spared else 1)
    assert ("x-pkgdex-stale" in answer.headers) is spared


def test_release_documents_carry_the_projects_name_as_it_is_now(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client(metadata_ttl_seconds=0)
    assert client.get("/pypi/sampleproject/2.0.0/json").json()["info"]["name"] == "sampleproject"
    renamed = fake.projects["sampleproject"]
    fake.add(dataclasses.replace(renamed, name="SampleProject"))  # the upstream renames it
    assert client.get(PROJECT).json()["info"]["name"] == "SampleProject"
    # 2.0.0's own document, stored before the rename, still says "sampleproject".
    assert client.get("/pypi/sampleproject/2.0.0/json").json()["info"]["name"] == "SampleProject"
