"""GET /registry/npm/-/v1/search over the name index, in npm's response shape."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from pkgdex.index.jobs import load_index
from pkgdex.index.models import index_entries
from pkgdex.npmregistry.search import CANDIDATES, MAX_SIZE
from support.fake_npm import FakeNpm, NpmClient, make_packument

SEARCH = "/registry/npm/-/v1/search"
LISTING = [  # name, version, downloads a month
    ("pad", "0.1.0", 10),
    ("pad-right", "0.2.0", 1),
    ("pad-left", "2.1.0", 100),
    ("padding", "1.0.0", 5000),
    ("string-pad", "1.0.0", 50),
    ("left-pad", "1.3.0", 3_000_000),
    ("@scope/pad-utils", "3.0.0", 700),
    ("unrelated", "1.0.0", 9_000_000),
]
MONTHS = {"pad-right": "2024-05"}
EXPECTED_ORDER = [
    "pad",  # exact
    "padding", "pad-left", "pad-right",  # prefix, by downloads
    "left-pad", "@scope/pad-utils", "string-pad",  # contains, by downloads
]  # fmt: skip


@pytest.fixture
def searchable(npm_client: NpmClient, engine: Engine, tmp_path: Path) -> TestClient:
    lines = ["name\tversion\tdownloads_a_month\tsummary\tmonth"]
    lines += [f"{n}\t{v}\t{d}\tsummary of {n}\t{MONTHS.get(n, '')}" for n, v, d in LISTING]
    source = tmp_path / "npm.tsv"
    source.write_text("\n".join(lines) + "\n")
    load_index(engine, "npm", str(source))
    return npm_client()


def names(answer: dict[str, list[dict[str, dict[str, str]]]]) -> list[str]:
    return [o["package"]["name"] for o in answer["objects"]]


def test_ranked_exact_prefix_contains_then_downloads(searchable: TestClient) -> None:
    response = searchable.get(SEARCH, params={"text": "pad"})
    assert response.status_code == 200
    answer = response.json()
    assert names(answer) == EXPECTED_ORDER
    assert answer["total"] == len(EXPECTED_ORDER)
    scores = [o["searchScore"] for o in answer["objects"]]
    assert scores == sorted(scores, reverse=True)
    assert "GMT" in answer["time"]


def test_object_shape_from_the_index_alone(searchable: TestClient) -> None:
    first = searchable.get(SEARCH, params={"text": "pad-left"}).json()["objects"][0]
    assert set(first) == {"package", "score", "searchScore"}
    assert first["package"] == {
        "name": "pad-left",
        "scope": "unscoped",
        "version": "2.1.0",
        "description": "summary of pad-left",
        "keywords": [],
        "date": None,
        "links": {"npm": "https://www.npmjs.com/package/pad-left"},
        "maintainers": [],
    }
    assert set(first["score"]) == {"final", "detail"}
    assert set(first["score"]["detail"]) == {"quality", "popularity", "maintenance"}
    assert all(0 <= v <= 1 for v in first["score"]["detail"].values())


def test_a_package_known_by_its_month_is_dated_by_it(searchable: TestClient) -> None:
    # npm's clients expect a date string; the index knows the month of the latest release.
    package = searchable.get(SEARCH, params={"text": "pad-right"}).json()["objects"][0]["package"]
    assert package["date"] == "2024-05-01T00:00:00.000Z"


def test_description_is_whole_and_flags_only_a_real_deprecation(
    searchable: TestClient, fake_npm: FakeNpm
) -> None:
    doc = fake_npm.docs["left-pad"]
    doc["description"] = "String left pad.\nPads on the left."
    doc["versions"]["1.3.0"]["deprecated"] = ""  # how npm lifts a deprecation
    assert searchable.get("/registry/npm/left-pad").status_code == 200
    hit = searchable.get(SEARCH, params={"text": "left-pad"}).json()["objects"][0]
    assert hit["package"]["description"] == "String left pad.\nPads on the left."
    assert "flags" not in hit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("left pad", ["left-pad", "pad-left"]),  # what `npm search left pad` sends
        ("pad left", ["pad-left", "left-pad"]),  # the joined name first, then all words
        ("PAD Left", ["pad-left", "left-pad"]),
        ("scope:scope pad", ["@scope/pad-utils"]),
        ("scope:@scope", ["@scope/pad-utils"]),
        ("keywords:pad-left", ["pad-left"]),  # searched as a name: the index has no keywords
        ("pad-left not:deprecated is:unstable", ["pad-left"]),
        ("is:unstable", []),
    ],
)
def test_several_words_and_qualifiers(
    searchable: TestClient, text: str, expected: list[str]
) -> None:
    answer = searchable.get(SEARCH, params={"text": text}).json()
    assert names(answer) == expected
    assert answer["total"] == len(expected)
    scores = [o["searchScore"] for o in answer["objects"]]
    assert scores == sorted(scores, reverse=True)


def test_scope_of_a_scoped_package(searchable: TestClient) -> None:
    answer = searchable.get(SEARCH, params={"text": "pad-utils"}).json()
    assert answer["objects"][0]["package"]["scope"] == "scope"


def test_cached_packument_fills_maintainers_links_and_date(
    searchable: TestClient, fake_npm: FakeNpm
) -> None:
    assert searchable.get("/registry/npm/left-pad").status_code == 200
    hit = searchable.get(SEARCH, params={"text": "left-pad"}).json()["objects"][0]
    package = hit["package"]
    doc = fake_npm.docs["left-pad"]
    assert package["maintainers"] == [{"username": "alice", "email": "alice@example.org"}]
    assert package["publisher"] == {"username": "alice", "email": "alice@example.org"}
    assert package["keywords"] == ["pad", "string"]
    assert package["date"] == doc["time"]["1.3.0"]
    assert package["description"] == "String left pad"
    assert package["links"] == {
        "npm": "https://www.npmjs.com/package/left-pad",
        "homepage": doc["homepage"],
        "repository": "https://github.com/example/left-pad",
        "bugs": doc["bugs"]["url"],
    }
    assert hit["score"]["detail"]["popularity"] > 0.5


def test_newly_seen_package_joins_the_name_index(searchable: TestClient) -> None:
    assert searchable.get(SEARCH, params={"text": "native-addon"}).json()["total"] == 0
    assert searchable.get("/registry/npm/native-addon").status_code == 200
    answer = searchable.get(SEARCH, params={"text": "native-addon"}).json()
    assert names(answer) == ["native-addon"]
    assert answer["objects"][0]["package"]["version"] == "0.1.0"
    assert answer["objects"][0]["flags"] == {"unstable": True}


def test_size_and_from_page_the_ranking(searchable: TestClient) -> None:
    for size, offset in [(2, 0), (2, 1), (3, 5), (20, 7), (250, 0)]:
        params = {"text": "pad", "size": str(size), "from": str(offset)}
        answer = searchable.get(SEARCH, params=params).json()
        assert names(answer) == EXPECTED_ORDER[offset : offset + size], (size, offset)
        assert answer["total"] == len(EXPECTED_ORDER)


def test_size_over_250_is_served_250(npm_client: NpmClient, engine: Engine, tmp_path: Path) -> None:
    source = tmp_path / "many.tsv"
    rows = [f"pkg{i:04d}\t1.0.0\t{i}\tx" for i in range(300)]
    source.write_text("name\tversion\tdownloads_a_month\tsummary\n" + "\n".join(rows) + "\n")
    load_index(engine, "npm", str(source))
    answer = npm_client().get(SEARCH, params={"text": "pkg", "size": "1000"}).json()
    assert len(answer["objects"]) == MAX_SIZE and answer["total"] == 300


def test_popular_prefix_matches_first_however_many_there_are(
    npm_client: NpmClient, engine: Engine, tmp_path: Path
) -> None:
    # More prefix matches than pkgdex ranks: the most downloaded sorts last by name.
    source = tmp_path / "many.tsv"
    rows = [f"pkg{i:04d}\t1.0.0\t{i}\tx" for i in range(CANDIDATES + 100)]
    source.write_text("name\tversion\tdownloads_a_month\tsummary\n" + "\n".join(rows) + "\n")
    load_index(engine, "npm", str(source))
    answer = npm_client().get(SEARCH, params={"text": "pkg"}).json()
    assert len(answer["objects"]) == 20  # the default size
    assert names(answer)[:3] == [
        f"pkg{CANDIDATES + 99}",
        f"pkg{CANDIDATES + 98}",
        f"pkg{CANDIDATES + 97}",
    ]
    assert answer["total"] == CANDIDATES  # counted up to the ranking's cap


def test_popular_substring_matches_first_however_many_there_are(
    npm_client: NpmClient, engine: Engine, tmp_path: Path
) -> None:
    # More names containing "loader" than pkgdex ranks; the most downloaded sort last by name
    # ("style-loader" against "@ascorbic/airtable-loader"), and must still come first.
    source = tmp_path / "many.tsv"
    rows = [f"a{i:04d}-loader\t1.0.0\t{i}\tx" for i in range(CANDIDATES + 100)]
    rows.append("loader-utils\t1.0.0\t7\tx")  # a prefix match: above every substring match
    source.write_text("name\tversion\tdownloads_a_month\tsummary\n" + "\n".join(rows) + "\n")
    load_index(engine, "npm", str(source))
    answer = npm_client().get(SEARCH, params={"text": "loader"}).json()
    assert names(answer)[:4] == [
        "loader-utils",
        f"a{CANDIDATES + 99:04d}-loader",
        f"a{CANDIDATES + 98:04d}-loader",
        f"a{CANDIDATES + 97:04d}-loader",
    ]
    assert answer["total"] == CANDIDATES


def test_a_packument_with_times_without_a_zone_is_searchable(
    searchable: TestClient, fake_npm: FakeNpm
) -> None:
    # Old packuments carry "2017-07-17T02:40:00.000": taken as UTC, as the registry means it.
    doc = make_packument(fake_npm.base_url, "zoneless-times", ["1.0.0"])
    doc["time"] = {"created": "2017-07-17T02:40:00.000", "1.0.0": "2017-07-17T02:40:00.000"}
    fake_npm.add(doc)
    assert searchable.get("/registry/npm/zoneless-times").status_code == 200
    response = searchable.get(SEARCH, params={"text": "zoneless"})
    assert response.status_code == 200
    package = response.json()["objects"][0]["package"]
    assert package["name"] == "zoneless-times"
    assert package["date"] == "2017-07-17T02:40:00.000"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "text is required"),
        ({"text": "  "}, "text is required"),
        ({"text": "pad", "size": "0"}, "size must be 1 or more"),
        ({"text": "pad", "size": "-3"}, "size must be 1 or more"),
        ({"text": "pad", "size": "ten"}, "size must be an integer"),
        ({"text": "pad", "from": "-1"}, "from must be 0 or more"),
        ({"text": "x" * 300}, "text must be at most 256 characters"),
        ({"text": "pad\x00"}, "text must not contain control characters"),
    ],
)
def test_bad_parameters_are_npm_shaped_400s(
    npm_client: NpmClient, params: dict[str, str], message: str
) -> None:
    response = npm_client().get(SEARCH, params=params)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)


def test_empty_index_finds_nothing(npm_client: NpmClient) -> None:
    answer = npm_client().get(SEARCH, params={"text": "pad"}).json()
    assert answer["objects"] == [] and answer["total"] == 0


def test_npm_weights_are_accepted(searchable: TestClient) -> None:
    params = {"text": "pad", "quality": "0.65", "popularity": "0.98", "maintenance": "0.5"}
    assert names(searchable.get(SEARCH, params=params).json()) == EXPECTED_ORDER


def test_a_nul_in_a_description_is_left_out_of_the_name_index(
    searchable: TestClient, fake_npm: FakeNpm, engine: Engine
) -> None:
    # A registry on CouchDB can hold one; no PostgreSQL text column can. The packument is
    # answered and stored as it came (JSON writes the NUL as an escape).
    doc = {**fake_npm.docs["left-pad"], "name": "nul-pad", "_id": "nul-pad"}
    doc["description"] = "Pads\x00 strings\nand more"
    fake_npm.add(doc)
    answer = searchable.get("/registry/npm/nul-pad")
    assert answer.status_code == 200
    assert answer.json()["description"] == "Pads\x00 strings\nand more"
    with engine.connect() as conn:
        query = select(index_entries.c.summary).where(index_entries.c.name == "nul-pad")
        assert conn.execute(query).scalars().all() == ["Pads strings"]
