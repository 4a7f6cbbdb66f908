"""The garbage collector pause around parsing upstream documents: shared by concurrent misses, and
never turning on a collector someone else had turned off."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pkgdex import collector
from pkgdex.afteranswer import collecting
from pkgdex.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_state() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_resumed_after() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_overlapping_pauses_resume_when_the_last_ends() -> None:
    gc.enable()
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()  # the second miss is still parsing
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_resumes_after_an_error() -> None:
    gc.enable()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("bad document")
    assert gc.isenabled()


def test_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_pauses_that_overlap_without_end_still_collect(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.enable()
    collections: list[int] = []
    monkeypatch.setattr(collector, "MAX_PAUSE_SECONDS", 0.0)
    monkeypatch.setattr(gc, "collect", lambda *_: collections.append(1) or 0)
    with collector_paused(), collector_paused():
        pass
    assert collections == [1]
    assert gc.isenabled()


def test_a_pause_ends_once_and_when_dropped() -> None:
    gc.enable()
    pause = collector.Pause()
    other = collector.Pause()
    pause.end()
    pause.end()  # a second end does not end another's pause
    assert not gc.isenabled()
    del other  # dropped without ending
    assert gc.isenabled()


def test_in_a_request_the_pause_lasts_until_its_answer_has_gone() -> None:
    gc.enable()
    with collecting() as after:
        with collector_paused():
            pass
        assert not gc.isenabled()  # the answer is still being made
    after.run()  # the response has gone
    assert gc.isenabled()


def test_a_requests_pause_whose_work_never_runs_still_ends() -> None:
    gc.enable()
    with collecting(), collector_paused():  # a response never sent: its work is dropped
        pass
    gc.collect()  # the dropped work let go of the pause
    assert gc.isenabled()
