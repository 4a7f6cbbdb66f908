"""When the upstream's own page can be a project's first page
(``metadata/firstpage.py``); the order of that answer and its miss is tested with the cache
(``test_metadata_cache.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from pkgdex.metadata import firstpage
from pkgdex.metadata.listing import read_page
from support.pep691 import WHOLE_FILE, whole_page


def _page(**changes: Any) -> bytes:
    return whole_page({**WHOLE_FILE, **changes})


def test_a_whole_page_of_the_project_is_answerable() -> None:
    assert firstpage.answerable(read_page(_page(), "u", whole=True), "a") is not None


@pytest.mark.parametrize(
    "body",
    [
        _page(url="https://files.example.org/a\x00"),  # the store refuses a NUL
        _page(hashes={"sha256": "1" * 65}),  # past the column
        _page(**{"upload-time": "2020-01-01T00:00:00+00:00"}),  # written back with a "Z"
        _page(**{"upload-time": "2020-01-01T00:00:00.000000Z"}),  # written back without
        _page(**{"upload-time": "2021-02-29T00:00:00Z"}),  # no such day
        _page(size="10"),  # not whole
    ],
)
def test_a_page_the_store_would_not_give_back_is_not_answerable(body: bytes) -> None:
    assert firstpage.answerable(read_page(body, "u", whole=True), "a") is None


def test_another_projects_page_is_not_answerable() -> None:
    assert firstpage.answerable(read_page(_page(), "u", whole=True), "b") is None


def test_a_stored_projects_page_is_answerable_at_its_stored_serial_only() -> None:
    page = read_page(_page(), "u", whole=True)
    assert page.whole is not None
    serial = page.whole.meta.last_serial
    assert firstpage.answerable(page, "a", serial) is not None
    assert firstpage.answerable(page, "a", serial - 1) is None  # changed upstream since
