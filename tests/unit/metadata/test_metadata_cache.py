"""PyPICache: telling the name index about a new project waits until the answer has gone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from pkgdex.config import Settings
from pkgdex.metadata.cache import PyPICache, after_answer, run_jobs
from pkgdex.metadata.documents import PyPIDocument, parse_document
from pkgdex.metadata.pullthrough import SingleFlight
from pkgdex.metadata.upstream import Upstream

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
        with after_answer() as later:
            cache.store(_document("a"))
            cache.store(_document("a"))  # stored again: not new, nothing more to tell
            cache.background.submit(lambda: None).result()
            assert told == []
        assert len(later) == 1
        run_jobs(later)
        cache.background.submit(lambda: None).result()
        assert told == ["a"]
        cache.store(_document("b"))  # no answer waiting (CLI, imports): at once
        cache.background.submit(lambda: None).result()
        assert told == ["a", "b"]
    finally:
        cache.close()
        upstream.close()
