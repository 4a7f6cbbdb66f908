"""The index API's answers are built as dicts for speed; they must serialise to exactly the
bytes orjson gives for the query layer's dataclasses (so a new field cannot go missing)."""

from __future__ import annotations

import orjson

from pkgdex.index.queries import PackageRow, SearchHit
from pkgdex.index.routes import browse_answer, search_answer

HITS = [
    SearchHit(1, "react", "18.3.1", "https://www.npmjs.com/package/react", 0),
    SearchHit(2_000_000_000, "réact-ünï-🐍", "", "https://www.npmjs.com/package/r%C3%A9act", 2),
]
ROWS = [
    PackageRow(7, "requests", "2.32.3", "https://pypi.org/project/requests/"),
    PackageRow(8, 'we"ird\\name\n', "1.0", "https://pypi.org/project/weird/"),
]


def test_a_search_answer_is_the_dataclasses_own_json() -> None:
    expected = orjson.dumps({"query": "ré", "count": 2, "results": HITS})
    assert orjson.dumps(search_answer("ré", HITS)) == expected
    assert orjson.dumps(search_answer("zz", [])) == b'{"query":"zz","count":0,"results":[]}'


def test_a_browse_answer_is_the_dataclasses_own_json() -> None:
    expected = orjson.dumps({"page": 3, "limit": 2, "results": ROWS})
    assert orjson.dumps(browse_answer(3, 2, ROWS)) == expected
