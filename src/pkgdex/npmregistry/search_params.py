"""The query string of ``/-/v1/search``, checked: ``text`` required, ``size`` 1 or more (a size
over 250 is served 250, as the registry does: ``npm search --searchlimit=1000`` works), ``from``
0 or more.

npm also sends ``quality``, ``popularity`` and ``maintenance`` weights; pkgdex ranks by the name
index's order and accepts them without using them.
"""

from __future__ import annotations

from collections.abc import Mapping

from pkgdex.npmregistry.search import DEFAULT_SIZE, MAX_SIZE, SearchQuery

MAX_TEXT = 256


class InvalidSearchError(ValueError):
    """A search query string npm's registry would refuse too."""


def parse_search(params: Mapping[str, str]) -> SearchQuery:
    text = params.get("text", "").strip()
    if not text:
        raise InvalidSearchError("text is required")
    if not text.isprintable():
        raise InvalidSearchError("text must not contain control characters")
    if len(text) > MAX_TEXT:
        raise InvalidSearchError(f"text must be at most {MAX_TEXT} characters")
    size = _integer(params, "size", DEFAULT_SIZE)
    if size < 1:
        raise InvalidSearchError("size must be 1 or more")
    offset = _integer(params, "from", 0)
    if offset < 0:
        raise InvalidSearchError("from must be 0 or more")
    return SearchQuery(text=text, size=min(size, MAX_SIZE), offset=offset)


def _integer(params: Mapping[str, str], key: str, default: int) -> int:
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidSearchError(f"{key} must be an integer, got {raw[:40]!r}") from None
