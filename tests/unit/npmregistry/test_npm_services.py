"""The pull-through service with real parts: SQLite, the httpx upstream, single-flight (and
Redis for several processes), against the fake registry on loopback."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
import redis
import xxhash
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from pkgdex.afteranswer import AfterAnswer
from pkgdex.config import Settings
from pkgdex.metadata.pullthrough import SingleFlight
from pkgdex.metadata.upstream import Upstream, UpstreamError
from pkgdex.npmregistry import queries, services
from pkgdex.npmregistry.services import NpmRegistry, PackageNotFoundError
from support.fake_npm import FakeNpm


def settings(url: str, fake: FakeNpm, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "npm_upstream": fake.base_url + "/",
        "offline": False,
        "upstream_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def make_registry(
    engine: Engine, config: Settings, flight: SingleFlight | None = None
) -> NpmRegistry:
    upstream = Upstream.from_settings(config)
    return NpmRegistry.from_parts(engine, upstream, flight or SingleFlight(), config)


def test_hundred_concurrent_misses_make_one_upstream_request(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm
) -> None:
    fake.delay = 0.3
    registry = make_registry(sqlite_engine, settings(sqlite_url, fake))
    with ThreadPoolExecutor(100) as pool:
        answers = list(pool.map(lambda _: registry.packument("many-versions"), range(100)))
    assert fake.hits("many-versions") == 1
    assert {a.stored.digest for a in answers} == {answers[0].stored.digest}
    registry.upstream.close()


def test_concurrent_misses_for_an_absent_name_share_the_404(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm
) -> None:
    fake.delay = 0.2
    registry = make_registry(sqlite_engine, settings(sqlite_url, fake))

    def ask(_: int) -> str:
        try:
            registry.packument("absent")
        except PackageNotFoundError:
            return "404"
        return "200"

    with ThreadPoolExecutor(20) as pool:
        assert set(pool.map(ask, range(20))) == {"404"}
    assert fake.hits("absent") == 1
    registry.upstream.close()


def test_processes_sharing_redis_make_one_upstream_request(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm, redis_url: str
) -> None:
    fake.delay = 0.3
    prefix = f"test-npm-{uuid.uuid4().hex[:8]}"
    config = settings(sqlite_url, fake, redis_url=redis_url, redis_prefix=prefix)
    # Two registries with their own single-flight tables stand for two server processes.
    registries = [
        make_registry(
            sqlite_engine, config, SingleFlight(redis.Redis.from_url(redis_url), prefix=prefix)
        )
        for _ in range(2)
    ]
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda i: registries[i % 2].packument("left-pad"), range(20)))
    assert fake.hits("left-pad") == 1
    for registry in registries:
        registry.upstream.close()
        registry.single_flight.close()


def test_sync_refetches_even_when_fresh(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm
) -> None:
    registry = make_registry(sqlite_engine, settings(sqlite_url, fake))
    registry.packument("left-pad")
    registry.packument("left-pad")
    registry.sync("left-pad")
    assert fake.hits("left-pad") == 2
    registry.upstream.close()


def test_trailing_slash_of_the_upstream_setting_is_ignored(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm
) -> None:
    registry = make_registry(sqlite_engine, settings(sqlite_url, fake))
    assert registry.packument_url("@a/b") == f"{fake.base_url}/@a%2Fb"
    registry.upstream.close()


def test_offline_never_calls_out(sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm) -> None:
    registry = make_registry(sqlite_engine, settings(sqlite_url, fake, offline=True))
    with pytest.raises(PackageNotFoundError):
        registry.packument("left-pad")
    with pytest.raises(UpstreamError, match="offline"):
        registry.sync("left-pad")
    assert fake.requests == []


def write_behind_registry(engine: Engine, config: Settings, after: AfterAnswer) -> NpmRegistry:
    upstream = Upstream.from_settings(config)
    return NpmRegistry.from_parts(engine, upstream, SingleFlight(), config, after)


def test_a_miss_answers_before_storing_and_holds_the_flight_until_stored(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm
) -> None:
    after = AfterAnswer()
    registry = write_behind_registry(sqlite_engine, settings(sqlite_url, fake), after)
    answer = registry.packument("left-pad", "abbreviated")
    assert answer.stored.body is not None and b'"dist-tags"' in answer.stored.body
    with sqlite_engine.connect() as conn:
        assert queries.stored_packument(conn, "left-pad") is None  # not yet stored
    # Meanwhile another caller shares the answer instead of asking the upstream again.
    assert registry.packument("left-pad").stored.digest == answer.stored.digest
    after.run()  # the response has gone: the store runs, then the name index is told
    with sqlite_engine.connect() as conn:
        stored = queries.stored_packument(conn, "left-pad", "abbreviated")
    assert stored is not None and stored.body == answer.stored.body
    assert fake.hits("left-pad") == 1
    registry.packument("left-pad")  # stored and fresh: no upstream request
    assert fake.hits("left-pad") == 1
    registry.upstream.close()


def test_a_store_that_fails_behind_the_answer_is_logged_and_missed_again(
    sqlite_engine: Engine,
    sqlite_url: str,
    fake: FakeNpm,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def failing(*_: Any) -> None:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    after = AfterAnswer()
    registry = write_behind_registry(sqlite_engine, settings(sqlite_url, fake), after)
    monkeypatch.setattr(services, "store_documents", failing)
    assert registry.packument("left-pad").stored.latest == "1.3.0"
    after.run()
    assert "answered but not stored" in caplog.text
    with sqlite_engine.connect() as conn:
        assert queries.stored_packument(conn, "left-pad") is None
    monkeypatch.undo()
    registry.packument("left-pad")
    after.run()
    assert fake.hits("left-pad") == 2
    with sqlite_engine.connect() as conn:
        assert queries.stored_packument(conn, "left-pad") is not None
    registry.upstream.close()


@pytest.mark.parametrize("body", ["doc", "abbreviated"])
def test_the_full_document_is_the_upstream_body_byte_for_byte(
    sqlite_engine: Engine, sqlite_url: str, fake: FakeNpm, body: queries.Body
) -> None:
    after = AfterAnswer()
    registry = write_behind_registry(sqlite_engine, settings(sqlite_url, fake), after)
    upstream_body = orjson.dumps(fake.docs["many-versions"])  # what the fake sends
    answer = registry.packument("many-versions", body)
    assert answer.fetched is not None and answer.fetched.full == upstream_body
    after.run()
    with sqlite_engine.connect() as conn:
        stored = queries.stored_packument(conn, "many-versions", "doc")
    assert stored is not None and stored.body == upstream_body
    assert stored.digest == xxhash.xxh3_128_hexdigest(upstream_body)
    registry.upstream.close()


def test_a_body_whose_search_card_cannot_decode_is_answered_but_not_stored(
    sqlite_engine: Engine,
    sqlite_url: str,
    fake: FakeNpm,
    caplog: pytest.LogCaptureFixture,
) -> None:
    after = AfterAnswer()
    registry = write_behind_registry(sqlite_engine, settings(sqlite_url, fake), after)
    original = orjson.dumps(fake.docs["left-pad"])
    # Well-formed JSON, yet no double holds the keyword: the check skips it, the card reads it.
    broken = original.replace(b'"keywords":["pad","string"]', b'"keywords":[1e400]')
    assert broken != original
    fake.bodies["left-pad"] = broken
    assert registry.packument("left-pad").stored.latest == "1.3.0"
    after.run()
    assert "answered but not stored" in caplog.text
    with sqlite_engine.connect() as conn:
        assert queries.stored_packument(conn, "left-pad") is None
    registry.upstream.close()
