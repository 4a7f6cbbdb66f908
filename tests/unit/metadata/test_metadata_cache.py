"""PyPICache: a miss is answered before it is stored, and the store (then the name index)
follows once the answer has gone."""

from __future__ import annotations

import functools
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from hashlib import sha256
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from pkgdex.afteranswer import collecting
from pkgdex.config import Settings
from pkgdex.metadata import (
    answers,
    canonical,
    coremetadata,
    exact,
    negotiation,
    queries,
    render,
    services,
)
from pkgdex.metadata import cache as cache_module
from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.documents import PyPIDocument, parse_document
from pkgdex.metadata.memory import MemoryCache
from pkgdex.metadata.models import metadata_projects
from pkgdex.metadata.pullthrough import SingleFlight
from pkgdex.metadata.upstream import Upstream, UpstreamError
from pkgdex.metadata.versions import pick_latest
from support.fake_pypi import FakePyPI, big_project

SettingsFactory = Callable[..., Settings]


def _document(name: str) -> PyPIDocument:
    data: dict[str, Any] = {
        "info": {"name": name, "version": "1.0"},
        "last_serial": 1,
        "releases": {"1.0": []},
        "urls": [],
    }
    return parse_document(data, expected_name=name)


def test_new_projects_reach_the_name_index_after_the_answer(
    make_settings: SettingsFactory, engine: Engine
) -> None:
    settings = make_settings()
    told: list[str] = []
    upstream = Upstream.from_settings(settings)
    cache = PyPICache.create(
        settings, engine, upstream, SingleFlight(), lambda _engine, doc: told.append(doc.info.name)
    )
    try:
        with collecting() as later:
            cache.store(_document("a"))
            cache.store(_document("a"))  # stored again: not new, nothing more to tell
            cache.background.submit(lambda: None).result()
            assert told == []
        assert len(later) == 1
        later.run()
        cache.background.submit(lambda: None).result()
        assert told == ["a"]
        cache.store(_document("b"))  # no answer waiting (CLI, imports): at once
        cache.background.submit(lambda: None).result()
        assert told == ["a", "b"]
    finally:
        cache.close()
        upstream.close()


@contextmanager
def _pulling_cache(
    make_settings: SettingsFactory, engine: Engine, ttl: float, **overrides: Any
) -> Iterator[tuple[PyPICache, FakePyPI]]:
    """A cache pulling through from a fake pypi.org, its copies fresh for ``ttl`` seconds."""
    with FakePyPI() as fake:
        settings = make_settings(
            offline=False, pypi_upstream=fake.url, metadata_ttl_seconds=ttl, **overrides
        )
        upstream = Upstream.from_settings(settings)
        cache = PyPICache.create(settings, engine, upstream, SingleFlight())
        try:
            yield cache, fake
        finally:
            cache.close()
            upstream.close()


@pytest.fixture
def pulling(make_settings: SettingsFactory, engine: Engine) -> Iterator[tuple[PyPICache, FakePyPI]]:
    """A cache pulling through from a fake pypi.org, whose copies are never fresh."""
    with _pulling_cache(make_settings, engine, 0) as pulled:
        yield pulled


def _stored_revision(engine: Engine, name: str) -> str | None:
    with engine.connect() as conn:
        state = queries.project_state(conn, name)
    return None if state is None else state.revision


def _stored(engine: Engine, name: str) -> tuple[queries.ProjectView, bytes]:
    """The project as stored, and its JSON API answer rendered from the stored rows."""
    with engine.connect() as conn:
        state = queries.project_state(conn, name)
        assert state is not None
        read = queries.load_project(conn, state)
    latest = pick_latest(read.releases)
    assert latest is not None
    return read, render.project_json(read, latest).body


def test_a_miss_is_answered_first_then_stored_while_the_flight_is_held(
    pulling: tuple[PyPICache, FakePyPI], engine: Engine
) -> None:
    cache, fake = pulling
    with collecting() as later:
        answer = answers.project_json(cache, "sampleproject", "")
        state, stale = cache.project("sampleproject")
    assert isinstance(answer, answers.Answer) and not answer.stale
    answered = answer.rendered
    assert not stale and len(later) == 2  # the store, then the collector's resumption
    assert _stored_revision(engine, "sampleproject") is None  # not stored yet
    assert not gc.isenabled()  # its collections come after the answer, not before
    # Until the write commits, callers share the answer instead of missing again.
    again = cache.flight.do("pypi:sampleproject", lambda: pytest.fail("missed again"))
    assert again == state
    later.run()
    assert gc.isenabled()
    assert _stored_revision(engine, "sampleproject") == state.revision
    assert fake.count("/pypi/sampleproject/json") == 1
    read, rendered = _stored(engine, "sampleproject")
    assert rendered == answered.body
    # The answer is kept; the view, thousands of objects, only once a surface asks for it.
    assert cache.memory.get((state.name, state.revision, "json")) is answered
    assert cache.memory.get((state.name, state.revision, "view")) is None
    assert cache.view(state).releases == read.releases
    assert cache.memory.get((state.name, state.revision, "view")) is not None
    cache.flight.do("pypi:sampleproject", lambda: None)  # released: a call of its own


def _first_file(data: dict[str, Any]) -> dict[str, Any]:
    file: dict[str, Any] = data["releases"]["1.0.0"][0]
    return file


# How the fake's document is changed, and the path its miss must take.
FORMS: dict[str, tuple[Callable[[dict[str, Any]], object], str]] = {
    "pypi.org's own form": (lambda d: None, "exact"),
    "an empty requires-python": (lambda d: _first_file(d).update(requires_python=""), "canonical"),
    "a zoned upload time": (
        lambda d: _first_file(d).update(upload_time_iso_8601="2020-01-01T12:00:00+00:00"),
        "general",
    ),
}


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_every_miss_path_answers_what_the_stored_rows_render(
    pulling: tuple[PyPICache, FakePyPI],
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    form: tuple[Callable[[dict[str, Any]], object], str],
) -> None:
    cache, fake = pulling
    change, expected = form
    data = fake.projects["sampleproject"].doc()
    change(data)
    monkeypatch.setattr(fake, "answer", lambda _path: (200, orjson.dumps(data)))
    taken = []
    for module in (exact, canonical):
        real = module.project_json
        spy = functools.partial(_spy, real, module.__name__.rsplit(".", 1)[1], taken)
        monkeypatch.setattr(module, "project_json", spy)
    with collecting() as later:
        answer = answers.project_json(cache, "sampleproject", "")
    later.run()
    assert taken == ([expected] if expected != "general" else [])
    assert isinstance(answer, answers.Answer)
    assert _stored(engine, "sampleproject")[1] == answer.rendered.body


def test_a_miss_checks_its_releases_while_they_arrive(
    pulling: tuple[PyPICache, FakePyPI], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, fake = pulling
    fake.add(big_project("paced", 80))
    fake.pace = (4096, 0.001)  # in pieces, as over a real link
    whole = exact._decode
    monkeypatch.setattr(exact, "_decode", lambda body: pytest.fail("decoded whole"))
    with collecting() as later:
        answer = answers.project_json(cache, "paced", "")
    later.run()
    monkeypatch.setattr(exact, "_decode", whole)
    assert isinstance(answer, answers.Answer)
    read, rendered = _stored(engine, "paced")
    assert len(read.releases) == 80
    assert rendered == answer.rendered.body


def _spy(real: Callable[..., Any], name: str, taken: list[str], *args: Any) -> Any:
    rendered = real(*args)
    if rendered is not None:
        taken.append(name)
    return rendered


def test_a_failed_write_behind_keeps_the_stored_copy_and_misses_again(
    pulling: tuple[PyPICache, FakePyPI],
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cache, fake = pulling
    first, _ = cache.project("sampleproject")  # no answer waiting: stored at once
    fake.projects["sampleproject"].last_serial = 150

    def broken(*_args: Any, **_kwargs: Any) -> services.Stored:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "store_document", broken)
    with caplog.at_level(logging.ERROR), collecting() as later:
        answered, _ = cache.project("sampleproject")
    assert answered.last_serial == 150  # answered from the upstream's document
    later.run()  # the write fails: logged, not raised
    assert "could not store sampleproject" in caplog.text
    assert _stored_revision(engine, "sampleproject") == first.revision  # the old copy, intact
    monkeypatch.undo()
    asked = fake.count("/pypi/sampleproject/json")
    with collecting() as later:
        state, _ = cache.project("sampleproject")  # misses again
    later.run()
    assert fake.count("/pypi/sampleproject/json") == asked + 1
    assert _stored_revision(engine, "sampleproject") == state.revision
    with engine.connect() as conn:
        serial = conn.execute(select(metadata_projects.c.last_serial)).scalar_one()
    assert serial == 150


def test_a_write_its_answer_never_ran_is_stored_by_the_next_request(
    make_settings: SettingsFactory, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakePyPI() as fake:
        settings = make_settings(offline=False, pypi_upstream=fake.url)  # the default TTL
        upstream = Upstream.from_settings(settings)
        cache = PyPICache.create(settings, engine, upstream, SingleFlight())
        try:
            with collecting() as later:
                state, _ = cache.project("sampleproject")
            del later  # the response failed to send: its jobs never run
            assert _stored_revision(engine, "sampleproject") is None
            monkeypatch.setattr(cache_module, "WRITE_WAIT_SECONDS", 0.0)
            again, _ = cache.project("sampleproject")
            assert again.revision == state.revision
            assert _stored_revision(engine, "sampleproject") == state.revision
            assert fake.count("/pypi/sampleproject/json") == 1
            cache.flight.do("pypi:sampleproject", lambda: None)  # released: a call of its own
        finally:
            cache.close()
            upstream.close()


def test_a_release_stored_while_its_project_is_being_written_waits_for_that_write(
    make_settings: SettingsFactory, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _pulling_cache(make_settings, engine, 60) as (cache, _):
        with collecting() as later:
            answers.project_json(cache, "sampleproject", "")
        checking, go = threading.Event(), threading.Event()
        store_document = services.store_document

        def slow_answered_write(*args: Any, **kwargs: Any) -> services.Stored:
            if kwargs.get("revision") is not None:  # the answer's write, not the release's
                checking.set()
                go.wait(5)
            return store_document(*args, **kwargs)

        monkeypatch.setattr(services, "store_document", slow_answered_write)
        writer = threading.Thread(target=later.run)
        writer.start()  # the answer's write has begun and holds its claim
        assert checking.wait(5)
        answered: list[answers.Answer | answers.Redirect] = []
        release = threading.Thread(
            target=lambda: answered.append(
                answers.release_json(cache, "sampleproject", "2.0.0", "")
            )
        )
        release.start()
        release.join(0.3)
        assert release.is_alive()  # the release's write waits for the project's
        go.set()
        writer.join(5)
        release.join(5)
        (answer,) = answered
        assert isinstance(answer, answers.Answer) and not answer.stale
        assert orjson.loads(answer.rendered.body)["info"]["summary"] == (
            "sampleproject summary for 2.0.0"
        )
        with engine.connect() as conn:
            state = queries.project_state(conn, "sampleproject")
            assert state is not None
            stored = queries.load_project(conn, state)
        (kept,) = [r for r in stored.releases if r.version == "2.0.0"]
        assert kept.info is not None and kept.info["summary"] == "sampleproject summary for 2.0.0"


def test_a_new_project_whose_write_failed_has_no_view_to_show(
    pulling: tuple[PyPICache, FakePyPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, _fake = pulling

    def broken(*_args: Any, **_kwargs: Any) -> services.Stored:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "store_document", broken)
    with collecting() as later:
        answered, _ = cache.project("sampleproject")
    assert answered.id == 0  # answered before it had a row
    later.run()  # the write fails: there is no row to read its view from
    with pytest.raises(UpstreamError) as failed:
        cache.view(answered)
    assert failed.value.status == 503
    assert cache.memory.get((answered.name, answered.revision, "view")) is None


def test_a_remembered_simple_page_reads_no_rows(
    make_settings: SettingsFactory, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _pulling_cache(make_settings, engine, 60) as (cache, _):
        with collecting() as later:
            first = answers.simple_project(cache, "sampleproject", negotiation.V1_JSON)
        later.run()
        assert isinstance(first, answers.Answer)
        state, _ = cache.project("sampleproject")
        key = (state.name, state.revision, "simple", negotiation.V1_JSON)
        assert cache.memory.get(key) is first.rendered
        cache.memory = MemoryCache(max_entries=8, max_bytes=1 << 30)  # the view let go of
        cache.memory.put(key, first.rendered, lambda _: 1)

        def unreadable(*_args: Any) -> queries.ProjectView:
            raise AssertionError("the page was remembered; its rows were read anyway")

        monkeypatch.setattr(queries, "load_project", unreadable)
        again = answers.simple_project(cache, "sampleproject", negotiation.V1_JSON)
        assert isinstance(again, answers.Answer) and again.rendered is first.rendered


def test_a_never_seen_projects_page_is_answered_before_its_document_is_asked_for(
    pulling: tuple[PyPICache, FakePyPI], engine: Engine
) -> None:
    cache, fake = pulling
    with collecting() as later:
        first = answers.simple_project(cache, "sampleproject", negotiation.V1_JSON)
        # From the upstream's page alone: the document would compete with the answer.
        assert fake.count("/simple/sampleproject/") == 1
        assert fake.count("/pypi/sampleproject/json") == 0
    assert isinstance(first, answers.Answer) and first.fetched_at is not None
    assert _stored_revision(engine, "sampleproject") is None
    later.run()  # the answer has gone
    assert fake.count("/pypi/sampleproject/json") == 1
    assert fake.count("/simple/sampleproject/") == 1  # its core metadata: the same page
    revision = _stored_revision(engine, "sampleproject")
    assert revision is not None
    # The stored project's page is the one answered: remembered as it, gzip and all.
    remembered = cache.memory.get(("sampleproject", revision, "simple", negotiation.V1_JSON))
    assert remembered is first.rendered


def test_a_never_seen_projects_page_waits_for_no_upstream_that_did_not_answer(
    make_settings: SettingsFactory, engine: Engine
) -> None:
    with _pulling_cache(make_settings, engine, 0, upstream_timeout_seconds=0.3) as (cache, fake):
        fake.fault, fake.slow_seconds = "slow", 3.0
        started = time.monotonic()
        with pytest.raises(UpstreamError) as failed, collecting():
            answers.simple_project(cache, "sampleproject", negotiation.V1_JSON)
        assert failed.value.status == 504
        assert time.monotonic() - started < 2  # the document was not asked for after it
        assert fake.count("/pypi/sampleproject/json") == 0
        fake.fault = None  # the upstream is back: the next request asks it again
        with collecting() as later:
            again = answers.simple_project(cache, "sampleproject", negotiation.V1_JSON)
        later.run()
        assert isinstance(again, answers.Answer)
        assert fake.count("/simple/sampleproject/") == 2


def test_a_stored_projects_core_metadata_is_answered_first_then_written(
    pulling: tuple[PyPICache, FakePyPI], engine: Engine
) -> None:
    cache, fake = pulling
    cache.refresh("sampleproject")  # stored, its files' core metadata unknown
    stored = cache.read_state("sampleproject")
    assert stored is not None
    with collecting() as later:
        answered = coremetadata.complete(cache, stored)
    assert answered.revision != stored.revision
    assert _stored_revision(engine, "sampleproject") == stored.revision  # not written yet
    # Answered from the view it was given, even once the memory has let go of it.
    cache.memory = MemoryCache(max_entries=8, max_bytes=1024)
    view = cache.view(answered)
    assert all(f.core_metadata is not None for r in view.releases for f in r.files)
    # Until the write commits, callers share the answer instead of asking again.
    key = "pypi-core-metadata:sampleproject"
    assert cache.flight.do(key, lambda: pytest.fail("asked again")) == answered
    # Another page of the answered revision (its other form) before the write: not asked again.
    assert coremetadata.complete(cache, answered) == answered
    later.run()
    assert _stored_revision(engine, "sampleproject") == answered.revision
    read, _ = _stored(engine, "sampleproject")
    assert read.releases == view.releases  # what was answered is what was written
    assert fake.count("/simple/sampleproject/") == 1
    assert cache.flight.do(key, lambda: "released") == "released"


def test_a_json_miss_learns_its_core_metadata_after_the_answer_and_before_its_write(
    pulling: tuple[PyPICache, FakePyPI], engine: Engine
) -> None:
    cache, fake = pulling
    cache.before_write = coremetadata.learn_behind
    with collecting() as later:
        answer = answers.project_json(cache, "sampleproject", "")
        state, _ = cache.project("sampleproject")
    assert isinstance(answer, answers.Answer)
    assert fake.count("/simple/sampleproject/") == 0  # the answer did not wait for the page
    later.run()
    assert fake.count("/simple/sampleproject/") == 1
    assert _stored_revision(engine, "sampleproject") == state.revision  # one write, with it
    read, rendered = _stored(engine, "sampleproject")
    assert rendered == answer.rendered.body  # the JSON API never shows it
    files = {f.filename: f.core_metadata for r in read.releases for f in r.files}
    project = fake.projects["sampleproject"]
    for filename, value in files.items():
        metadata = project.core_metadata(filename)
        assert value == (False if metadata is None else {"sha256": sha256(metadata).hexdigest()})
    assert any(value for value in files.values())


def test_a_json_miss_whose_page_cannot_be_had_is_stored_without_it(
    pulling: tuple[PyPICache, FakePyPI], engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    cache, fake = pulling
    cache.before_write = coremetadata.learn_behind
    fake.simple_answer = (500, b'{"message": "Internal Server Error"}')
    with collecting() as later:
        answers.project_json(cache, "sampleproject", "")
        state, _ = cache.project("sampleproject")
    with caplog.at_level(logging.WARNING):
        later.run()
    assert "no core metadata for sampleproject" in caplog.text
    assert _stored_revision(engine, "sampleproject") == state.revision
    read, _ = _stored(engine, "sampleproject")
    assert {f.core_metadata for r in read.releases for f in r.files} == {None}  # ask later


def test_a_core_metadata_write_nobody_waits_for_raises_its_failure(
    pulling: tuple[PyPICache, FakePyPI], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, _ = pulling
    cache.refresh("sampleproject")
    stored = cache.read_state("sampleproject")
    assert stored is not None

    def unwritable(*args: Any, **kwargs: Any) -> str:
        raise OperationalError("UPDATE", {}, Exception("disk I/O error"))

    monkeypatch.setattr(services, "add_core_metadata", unwritable)
    with pytest.raises(OperationalError):  # the CLI's sync reports it
        coremetadata.complete(cache, stored)
    assert _stored_revision(engine, "sampleproject") == stored.revision
    remembered = cache._state("sampleproject")  # the unstored revision is forgotten
    assert remembered is not None and remembered.revision == stored.revision
    monkeypatch.undo()
    assert coremetadata.complete(cache, stored).revision != stored.revision  # asked again
    assert _stored_revision(engine, "sampleproject") != stored.revision


def test_a_core_metadata_write_its_answer_never_ran_is_run_by_the_next_request(
    make_settings: SettingsFactory, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _pulling_cache(make_settings, engine, 60) as (cache, _):
        cache.refresh("sampleproject")
        stored = cache.read_state("sampleproject")
        assert stored is not None
        with collecting():  # an answer whose response failed: its work never runs
            answered = coremetadata.complete(cache, stored)
        assert _stored_revision(engine, "sampleproject") == stored.revision
        monkeypatch.setattr(cache_module, "WRITE_WAIT_SECONDS", 0.0)
        state, _ = cache.project("sampleproject")
        assert state.revision == answered.revision
        assert _stored_revision(engine, "sampleproject") == answered.revision
        key = "pypi-core-metadata:sampleproject"
        assert cache.flight.do(key, lambda: "released") == "released"


def test_a_revision_replaced_before_its_rows_were_read_is_not_passed_off_as_read(
    make_settings: SettingsFactory, engine: Engine
) -> None:
    with _pulling_cache(make_settings, engine, 60) as (cache, _):
        cache.refresh("sampleproject")
        seen = cache.read_state("sampleproject")
        assert seen is not None
        with engine.begin() as conn:  # another process completes it meanwhile
            services.add_core_metadata(conn, seen.id, {})
        with engine.connect() as conn, pytest.raises(queries.RevisionChanged):
            queries.load_project(conn, seen)
        cache.memory = MemoryCache(max_entries=64, max_bytes=64 * 1024 * 1024)  # nothing kept
        view = cache.view(seen)  # the revision stored now, labelled as such
        assert view.state.revision != seen.revision
        assert view.state == cache.read_state("sampleproject")
        assert cache.memory.get((seen.name, seen.revision, "view")) is None
