"""Work after an answer: collected while answering, each job run once, failures contained."""

from __future__ import annotations

import logging

import pytest
from starlette.responses import Response

from pkgdex.afteranswer import AfterAnswer, collecting, later, waiting


def test_without_an_answer_waiting_the_work_runs_at_once() -> None:
    done: list[int] = []
    assert waiting() is None
    later(done.append, 1)
    assert done == [1]


def test_collected_work_waits_for_run_and_runs_once() -> None:
    done: list[int] = []
    with collecting() as after:
        assert waiting() is after
        later(done.append, 1)
        later(done.append, 2)
        assert done == [] and len(after) == 2
    assert waiting() is None
    after.run()
    after.run()
    assert done == [1, 2]


def test_an_empty_collection_still_collects() -> None:
    # An AfterAnswer with no jobs is falsy; it must still be the one work goes to.
    done: list[int] = []
    with collecting() as after:
        later(done.append, 1)
    assert done == [] and len(after) == 1


def test_one_failing_job_does_not_stop_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    done: list[str] = []
    after = AfterAnswer()
    after(lambda: 1 / 0)
    after(done.append, "still")
    with caplog.at_level(logging.ERROR):
        after.run()
    assert done == ["still"]
    assert "work after an answer failed" in caplog.text


def test_a_response_runs_the_work_only_when_there_is_some() -> None:
    after = AfterAnswer()
    assert after.after(Response()).background is None
    after(print)
    assert after.after(Response()).background is not None
