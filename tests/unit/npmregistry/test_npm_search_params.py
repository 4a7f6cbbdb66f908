"""The /-/v1/search query string: defaults, bounds and clear refusals."""

from __future__ import annotations

import pytest

from pkgdex.npmregistry.search import SearchQuery
from pkgdex.npmregistry.search_params import InvalidSearchError, parse_search


def test_defaults() -> None:
    assert parse_search({"text": " react "}) == SearchQuery("react", 20, 0)


def test_bounds_are_inclusive() -> None:
    assert parse_search({"text": "a", "size": "1", "from": "0"}).size == 1
    assert parse_search({"text": "a", "size": "250"}).size == 250
    assert parse_search({"text": "a", "size": "251"}).size == 250  # the registry caps it too
    assert parse_search({"text": "a", "from": "100000"}).offset == 100000
    assert parse_search({"text": "a", "size": ""}).size == 20


@pytest.mark.parametrize(
    "params",
    [{}, {"text": ""}, {"text": "a", "size": "0"}, {"text": "a", "size": "-251"},
     {"text": "a", "size": "1.5"}, {"text": "a", "from": "-1"}, {"text": "a", "from": "x"},
     {"text": "a" * 257}],
)  # fmt: skip
def test_refused(params: dict[str, str]) -> None:
    with pytest.raises(InvalidSearchError):
        parse_search(params)
