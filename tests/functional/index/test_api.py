"""The OSMA-compatible index API through HTTP: shapes, ranking, bounds and errors, per backend."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from pkgdex.app import create_app
from pkgdex.config import Settings
from pkgdex.index.jobs import load_index
from support.index_data import NPM_NAMES, PYPI_NAMES, many_names, write_listing

Loaded = Callable[..., TestClient]


@pytest.fixture
def loaded(make_client: Callable[..., TestClient], engine: Engine, tmp_path: Path) -> Loaded:
    """A client over an index holding the given names (the small fixtures by default)."""

    def factory(
        pypi: list[tuple[str, str]] = PYPI_NAMES,
        npm: list[tuple[str, str]] = NPM_NAMES,
        **settings: object,
    ) -> TestClient:
        if pypi:
            load_index(engine, "pypi", write_listing(tmp_path, "pypi", pypi))
        if npm:
            load_index(engine, "npm", write_listing(tmp_path, "npm", npm))
        return make_client(**settings)

    return factory


def names(answer: dict[str, object]) -> list[str]:
    results = answer["results"]
    assert isinstance(results, list)
    return [r["name"] for r in results]


# --- ping, health, stats -----------------------------------------------------------------


@pytest.mark.parametrize("eco", ["pypi", "npm"])
def test_ping_answers_pong_to_get_and_head(client: TestClient, eco: str) -> None:
    answer = client.get(f"/{eco}/ping")
    assert answer.status_code == 200
    assert answer.json() == {"ping": "pong"}
    assert answer.headers["content-type"] == "application/json"
    head = client.head(f"/{eco}/ping")
    assert head.status_code == 200 and head.content == b""


def test_ping_carries_the_request_id_and_cors_headers(client: TestClient) -> None:
    answer = client.get("/npm/ping", headers={"Origin": "https://example.org"})
    assert answer.headers["access-control-allow-origin"] == "*"
    assert len(answer.headers["x-request-id"]) > 0


def test_ping_never_touches_the_database(make_client: Callable[..., TestClient]) -> None:
    client = make_client(database_url="postgresql+psycopg://nobody@127.0.0.1:9/none")
    assert client.get("/pypi/ping").json() == {"ping": "pong"}
    assert client.get("/pypi/health").status_code == 503
    assert client.get("/pypi/health").json() == {"status": "unavailable"}


@pytest.mark.parametrize("eco", ["pypi", "npm"])
def test_health_counts_the_names(loaded: Loaded, eco: str) -> None:
    client = loaded()
    expected = len(PYPI_NAMES) if eco == "pypi" else len(NPM_NAMES)
    answer = client.get(f"/{eco}/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "total_packages": expected}


def test_health_of_an_empty_index_without_bootstrap_is_ok(client: TestClient) -> None:
    assert client.get("/npm/health").json() == {"status": "ok", "total_packages": 0}


def test_stats_have_the_original_fields_plus_last_updated(loaded: Loaded) -> None:
    client = loaded()
    pypi = client.get("/pypi/stats").json()
    assert set(pypi) == {"total_pypi_packages", "source", "note", "last_updated"}
    assert pypi["total_pypi_packages"] == len(PYPI_NAMES)
    assert pypi["source"] == "pypi.org"
    assert pypi["note"] == "Snapshot dataset — updated periodically."
    assert datetime.fromisoformat(pypi["last_updated"]).tzinfo is not None
    npm = client.get("/npm/stats").json()
    assert npm["total_npm_packages"] == len(NPM_NAMES) and npm["source"] == "npmjs.com"


def test_stats_before_any_load(client: TestClient) -> None:
    answer = client.get("/npm/stats").json()
    assert answer["total_npm_packages"] == 0 and answer["last_updated"] is None


# --- browse --------------------------------------------------------------------------------


def test_browse_pages_through_every_name_in_no_order(loaded: Loaded) -> None:
    client = loaded()
    first = client.get("/pypi/browse", params={"limit": 5}).json()
    assert first["page"] == 1 and first["limit"] == 5
    assert [r["no"] for r in first["results"]] == [1, 2, 3, 4, 5]
    assert set(first["results"][0]) == {"no", "name", "version", "url"}
    assert first["results"][0] == {
        "no": 1,
        "name": "requests",
        "version": "2.32.3",
        "url": "https://pypi.org/project/requests/",
    }
    seen: list[str] = []
    for page in range(1, 5):
        seen += names(client.get("/pypi/browse", params={"page": page, "limit": 5}).json())
    assert seen == [n for n, _ in PYPI_NAMES]


def test_browse_defaults_to_page_1_of_200(loaded: Loaded) -> None:
    client = loaded(pypi=many_names("pypi", 450))
    answer = client.get("/pypi/browse").json()
    assert answer["page"] == 1 and answer["limit"] == 200 and len(answer["results"]) == 200
    third = client.get("/pypi/browse", params={"page": 3}).json()
    assert [r["no"] for r in third["results"]] == list(range(401, 451))


def test_browse_past_the_end_is_empty(loaded: Loaded) -> None:
    client = loaded()
    for page in (2, 10_000, 10_000_000):
        answer = client.get("/pypi/browse", params={"page": page, "limit": 500})
        assert answer.status_code == 200 and answer.json()["results"] == []


def test_npm_urls_point_at_npmjs(loaded: Loaded) -> None:
    rows = loaded().get("/npm/browse", params={"limit": 4}).json()["results"]
    assert rows[3]["url"] == "https://www.npmjs.com/package/@types/react"


# --- search --------------------------------------------------------------------------------


def test_search_ranks_exact_then_prefix_then_contains_then_by_name(loaded: Loaded) -> None:
    answer = loaded().get("/pypi/search", params={"q": "requests"}).json()
    assert answer["query"] == "requests"
    assert [(r["name"], r["rank"]) for r in answer["results"]] == [
        ("requests", 0),
        ("requests-oauthlib", 1),
        ("requests_toolbelt", 1),
        ("grequests", 2),
        ("types-requests", 2),
    ]
    assert answer["count"] == 5
    assert set(answer["results"][0]) == {"no", "name", "version", "url", "rank"}
    assert answer["results"][0]["url"] == "https://pypi.org/project/requests/"


def test_search_is_case_insensitive(loaded: Loaded) -> None:
    client = loaded()
    answer = client.get("/pypi/search", params={"q": "DJANGO"}).json()
    assert [(r["name"], r["rank"]) for r in answer["results"]] == [
        ("Django", 0),
        ("django-extensions", 1),
    ]
    assert answer["query"] == "DJANGO"


def test_pypi_search_matches_pep503_normalised_names(loaded: Loaded) -> None:
    client = loaded()
    for q in ("Zope.Interface", "zope-interface", "ZOPE_INTERFACE", "zope--interface"):
        hits = client.get("/pypi/search", params={"q": q}).json()["results"]
        assert (hits[0]["name"], hits[0]["rank"]) == ("zope.interface", 0), q
    hits = client.get("/pypi/search", params={"q": "requests.oauthlib"}).json()["results"]
    assert (hits[0]["name"], hits[0]["rank"]) == ("requests-oauthlib", 0)


def test_npm_search_keeps_dots_and_dashes_apart(loaded: Loaded) -> None:
    hits = loaded().get("/npm/search", params={"q": "react.dom"}).json()["results"]
    assert [(h["name"], h["rank"]) for h in hits] == [("react.dom", 0)]


def test_npm_scoped_names_are_found(loaded: Loaded) -> None:
    hits = loaded().get("/npm/search", params={"q": "@types/"}).json()["results"]
    assert [(h["name"], h["rank"]) for h in hits] == [("@types/react", 1)]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("o_b", ["foo_bar"]),  # "_" is not a one-character wildcard
        ("%", []),  # too short, see below; kept here to show "%" never matches everything
        ("e%", []),
        ("%%", []),
        ("r*", []),
        ("[a-z]", []),
        ("^req", []),
        ("100", ["percent100"]),
        ("t1", ["percent100"]),
    ],
)
def test_every_character_of_q_is_literal(loaded: Loaded, q: str, expected: list[str]) -> None:
    answer = loaded().get("/pypi/search", params={"q": q})
    if len(q) < 2:
        assert answer.status_code == 422
        return
    assert answer.status_code == 200
    assert names(answer.json()) == expected


def test_search_limit_cuts_after_ranking(loaded: Loaded) -> None:
    answer = loaded().get("/pypi/search", params={"q": "requests", "limit": 2}).json()
    assert names(answer) == ["requests", "requests-oauthlib"]
    assert answer["count"] == 2


def test_search_with_no_match_is_empty(loaded: Loaded) -> None:
    answer = loaded().get("/npm/search", params={"q": "zz-no-such-name"}).json()
    assert answer == {"query": "zz-no-such-name", "count": 0, "results": []}


@pytest.mark.parametrize("q", ["日本語", "ñandú", "emoji 🐍", "  ", "a b", "\u200b\u200b"])
def test_unicode_and_blank_queries_are_searched_not_refused(loaded: Loaded, q: str) -> None:
    answer = loaded().get("/pypi/search", params={"q": q})
    assert answer.status_code == 200
    assert answer.json()["query"] == q


@pytest.mark.parametrize("raw", ["%ff%fe", "%ed%a0%80x", "%C0%AF%C0%AF", "%E2%80%AEre"])
def test_undecodable_or_odd_query_bytes_are_searched_not_crashed_on(
    loaded: Loaded, raw: str
) -> None:
    answer = loaded().get(f"/pypi/search?q={raw}")
    assert answer.status_code == 200
    assert answer.json()["count"] == 0


def test_unicode_names_are_found(loaded: Loaded) -> None:
    client = loaded(npm=[("日本語パッケージ", "1.0.0"), ("ascii", "1.0.0")])
    hits = client.get("/npm/search", params={"q": "本語"}).json()["results"]
    assert [(h["name"], h["rank"]) for h in hits] == [("日本語パッケージ", 2)]


def test_query_length_counts_characters_not_bytes(loaded: Loaded) -> None:
    client = loaded()
    assert client.get("/pypi/search", params={"q": "é" * 100}).status_code == 200
    assert client.get("/pypi/search", params={"q": "é" * 101}).status_code == 422
    assert client.get("/pypi/search", params={"q": "é"}).status_code == 422


# --- bad parameters: FastAPI's 422 detail list, as the original -----------------------------


BAD_PARAMETERS = [
    ("search", {}, "missing"),
    ("search", {"q": ""}, "string_too_short"),
    ("search", {"q": "a"}, "string_too_short"),
    ("search", {"q": "x" * 101}, "string_too_long"),
    ("search", {"q": "a\x00b"}, "string_pattern_mismatch"),
    ("search", {"q": "\x00\x00"}, "string_pattern_mismatch"),
    ("search", {"q": "requests\n"}, "string_pattern_mismatch"),
    ("search", {"q": "\x7f\x1b[0m"}, "string_pattern_mismatch"),
    ("search", {"q": "abc", "limit": "0"}, "greater_than_equal"),
    ("search", {"q": "abc", "limit": "-1"}, "greater_than_equal"),
    ("search", {"q": "abc", "limit": "501"}, "less_than_equal"),
    ("search", {"q": "abc", "limit": "99999999999999999999999"}, "less_than_equal"),
    ("search", {"q": "abc", "limit": "ten"}, "int_parsing"),
    ("search", {"q": "abc", "limit": "1.5"}, "int_parsing"),
    ("search", {"q": "abc", "limit": ""}, "int_parsing"),
    ("search", {"q": "abc", "limit": "٣"}, None),  # an Arabic-Indic digit
    ("browse", {"page": "0"}, "greater_than_equal"),
    ("browse", {"page": "-3"}, "greater_than_equal"),
    ("browse", {"page": "10000001"}, "less_than_equal"),
    ("browse", {"page": "9" * 40}, "less_than_equal"),
    ("browse", {"page": "1e3"}, "int_parsing"),
    ("browse", {"page": "one"}, "int_parsing"),
    ("browse", {"limit": "0"}, "greater_than_equal"),
    ("browse", {"limit": "501"}, "less_than_equal"),
    ("browse", {"limit": "NaN"}, "int_parsing"),
    ("get-bypass", {}, "missing"),
    ("rebuild", {}, "missing"),
]


@pytest.fixture(scope="module")
def checking_client(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """One app for every parameter check: parameters are refused before any database work."""
    path = tmp_path_factory.mktemp("parameters") / "pkgdex.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite:///{path}", rate_limits="off", offline=True
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(("route", "params", "error_type"), BAD_PARAMETERS)
@pytest.mark.parametrize("eco", ["pypi", "npm"])
def test_bad_parameters_answer_422_with_the_detail_list(
    checking_client: TestClient,
    eco: str,
    route: str,
    params: dict[str, str],
    error_type: str | None,
) -> None:
    answer = checking_client.get(f"/{eco}/{route}", params=params)
    if error_type is None and answer.status_code == 200:
        return  # Python reads some non-ASCII digits as numbers; accepting them is harmless
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert isinstance(detail, list) and detail
    assert {"type", "loc", "msg"} <= set(detail[0])
    assert detail[0]["loc"][0] == "query"
    if error_type is not None:
        assert detail[0]["type"] == error_type


@pytest.mark.parametrize(
    "path", ["/pypi/nope", "/npm/search/extra", "/cargo/search", "/pypi/browse/2"]
)
def test_unknown_paths_are_404(client: TestClient, path: str) -> None:
    answer = client.get(path, params={"q": "abc"})
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(("method", "path"), [("post", "/pypi/search"), ("delete", "/npm/ping")])
def test_wrong_methods_are_405(client: TestClient, method: str, path: str) -> None:
    assert client.request(method.upper(), path, params={"q": "abc"}).status_code == 405


# --- CORS ----------------------------------------------------------------------------------


def test_cors_is_open_and_exposes_the_rate_limit_headers(client: TestClient) -> None:
    answer = client.get("/pypi/ping", headers={"Origin": "https://example.org"})
    assert answer.headers["access-control-allow-origin"] == "*"
    exposed = {
        h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")
    }
    assert {"retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= (
        exposed
    )
    preflight = client.options(
        "/npm/search",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"


# --- debug-ip ------------------------------------------------------------------------------


def test_debug_ip_shows_the_address_and_forwarding_headers_only(client: TestClient) -> None:
    answer = client.get(
        "/pypi/debug-ip",
        headers={
            "X-Forwarded-For": "198.51.100.7",
            "Authorization": "Bearer very-secret-1",
            "Cookie": "session=very-secret-2",
            "X-API-Key": "very-secret-3",
            "X-Bypass-Token": "1:very-secret-4",
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body == {
        "client_ip": "testclient",
        "peer": "testclient",
        "peer_is_trusted_proxy": False,
        "forwarding_headers": {"x-forwarded-for": "198.51.100.7"},
    }
    assert "very-secret" not in answer.text


def test_openapi_documents_both_index_apis(checking_client: TestClient) -> None:
    paths = checking_client.get("/openapi.json").json()["paths"]
    for eco in ("pypi", "npm"):
        for route in ("ping", "health", "stats", "browse", "search", "debug-ip", "get-bypass"):
            assert f"/{eco}/{route}" in paths
        assert {"get", "post"} <= set(paths[f"/{eco}/rebuild"])
