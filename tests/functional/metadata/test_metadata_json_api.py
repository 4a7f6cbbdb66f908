"""/pypi/<project>/json and /pypi/<project>/<version>/json, field by field as pypi.org."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from fastapi.testclient import TestClient
from packaging_legacy.version import parse as legacy_parse

from support.fake_pypi import FakePyPI, Project, ReleaseSpec, pick_latest

PyPIClient = Callable[..., TestClient]

V1_JSON = "application/vnd.pypi.simple.v1+json"
TOP_LEVEL_PROJECT = ["info", "last_serial", "releases", "urls", "vulnerabilities"]
TOP_LEVEL_RELEASE = ["info", "last_serial", "urls", "vulnerabilities"]


def canonical_bytes(doc: object) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def test_project_document_equals_pypi_field_by_field(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client()
    response = client.get("/pypi/sampleproject/json")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == TOP_LEVEL_PROJECT
    expected = fake.projects["sampleproject"].doc()
    assert body == expected
    assert response.content == canonical_bytes(expected)  # same key order and spacing
    info = body["info"]
    assert info["downloads"] == {"last_day": -1, "last_month": -1, "last_week": -1}
    sdist = next(f for f in body["releases"]["1.0.0"] if f["packagetype"] == "sdist")
    assert sdist["upload_time"] == "2020-01-02T12:00:00"  # no zone, no fraction
    assert sdist["upload_time_iso_8601"] == "2020-01-02T12:00:00.000007Z"
    assert body["releases"]["0.9"] == []
    assert body["vulnerabilities"] == []


def test_release_document_has_no_releases_key(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    client = pypi_client()
    body = client.get("/pypi/sampleproject/2.0.0/json").json()
    assert list(body) == TOP_LEVEL_RELEASE
    assert body == fake.projects["sampleproject"].version_doc("2.0.0")
    assert body["info"]["summary"] == "sampleproject summary for 2.0.0"
    assert len(body["urls"]) == 3


def test_trailing_slash_is_answered_not_redirected(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    plain = client.get("/pypi/sampleproject/json")
    slashed = client.get("/pypi/sampleproject/json/", follow_redirects=False)
    assert slashed.status_code == 200
    assert slashed.content == plain.content
    version = client.get("/pypi/sampleproject/1.0.0/json/", follow_redirects=False)
    assert version.status_code == 200
    assert version.json()["info"]["version"] == "1.0.0"


REDIRECTS = [
    ("/pypi/SampleProject/json", "/pypi/sampleproject/json"),
    ("/pypi/Zope.Interface_Extra/json", "/pypi/zope-interface-extra/json"),
    ("/pypi/zope_interface.extra/json/", "/pypi/zope-interface-extra/json/"),
    ("/pypi/Zope.Interface_Extra/5.1/json", "/pypi/zope-interface-extra/5.1/json"),
]


def test_non_normalised_names_redirect_permanently(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    for path, location in REDIRECTS:
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (301, location), path
        assert response.headers["access-control-allow-origin"] == "*"


def test_normalised_project_keeps_its_display_name(pypi_client: PyPIClient) -> None:
    body = pypi_client().get("/pypi/zope-interface-extra/json").json()
    assert body["info"]["name"] == "Zope.Interface_Extra"
    # 5.2.dev0 is a pre-release: the final 5.1 is described.
    assert body["info"]["version"] == "5.1"


def test_versions_match_in_normalised_form(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    for asked, found in [("3.0", "3.0.0"), ("3", "3.0.0"), ("v2.0", "2.0.0"), ("2.0.0", "2.0.0")]:
        response = client.get(f"/pypi/sampleproject/{asked}/json")
        assert response.status_code == 200, asked
        assert response.json()["info"]["version"] == found, asked


def test_project_endpoint_picks_like_pypi(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    client = pypi_client()
    expectations = {
        "sampleproject": "3.0.0",  # 3.1.0 yanked, 4.0.0b1 pre-release
        "only-pre": "1.0b2",
        "all-yanked": "1.1",
        "big-project": pick_latest(fake.projects["big-project"].releases).version,
    }
    for project, expected in expectations.items():
        body = client.get(f"/pypi/{project}/json").json()
        assert body["info"]["version"] == expected, project
        assert body["urls"] == body["releases"][expected]


@pytest.mark.parametrize("spellings", [("3.0", "3.0.0"), ("3.0.0", "3.0"), ("3", "3.0", "3.0.0")])
def test_of_two_spellings_of_the_latest_the_upstream_described_one_is_described(
    pypi_client: PyPIClient, fake: FakePyPI, spellings: tuple[str, ...]
) -> None:
    # PEP 440 ranks "3.0" and "3.0.0" equal; pypi.org describes one of them, and pkgdex the
    # same one, on the miss and from the store (the fake describes the first one listed).
    project = Project("twin-spellings", [ReleaseSpec("2.0"), *map(ReleaseSpec, spellings)])
    fake.add(project)
    described = spellings[0]
    assert project.doc()["info"]["version"] == described
    missed = pypi_client().get("/pypi/twin-spellings/json")
    assert missed.json() == project.doc()
    stored = pypi_client(offline=True)  # a new process: read from the store
    assert stored.get("/pypi/twin-spellings/json").content == missed.content
    latest = stored.get("/pypi/twin-spellings/latest/json", follow_redirects=False)
    assert latest.headers["location"] == f"/pypi/twin-spellings/{described}/json"


@pytest.mark.parametrize("spellings", [("3.0", "3.0.0"), ("3.0.0", "3.0")])
def test_the_described_spelling_stays_described_once_its_twin_has_its_own_info(
    pypi_client: PyPIClient, fake: FakePyPI, spellings: tuple[str, ...]
) -> None:
    # Both spellings with their own info: the other's release page was asked for too. The
    # project endpoint still describes the one the upstream's project document described.
    project = Project("twin-pages", [ReleaseSpec("2.0"), *map(ReleaseSpec, spellings)])
    fake.add(project)
    described, twin = spellings
    client = pypi_client()
    missed = client.get("/pypi/twin-pages/json")
    assert client.get(f"/pypi/twin-pages/{twin}/json").json()["info"]["version"] == twin
    stored = pypi_client(offline=True)  # a new process: read from the store
    assert stored.get("/pypi/twin-pages/json").content == missed.content
    latest = stored.get("/pypi/twin-pages/latest/json", follow_redirects=False)
    assert latest.headers["location"] == f"/pypi/twin-pages/{described}/json"
    project.last_serial += 1  # a changed document: the refresh is a whole new miss, not a 304
    refreshed = pypi_client(metadata_ttl_seconds=0).get("/pypi/twin-pages/json")
    assert refreshed.json()["info"]["version"] == described
    assert refreshed.json() == project.doc()


@pytest.mark.parametrize(
    ("versions", "described"),
    [
        # setuptools' old scheme, as warehouse's _pypi_ordering: 1.10 after 1.9, not by text.
        (["1.9-snapshot", "1.10-snapshot", "json", "0.1.dev-r5"], "1.10-snapshot"),
        # A legacy version is no pre-release on pypi.org: it is described before one...
        (["1.9-snapshot", "2.0rc1"], "1.9-snapshot"),
        # ...and below every valid final release.
        (["1.9-snapshot", "0.0.1", "2.0rc1"], "0.0.1"),
    ],
)
def test_versions_that_are_not_pep440_are_ordered_as_on_pypi(
    pypi_client: PyPIClient, fake: FakePyPI, versions: list[str], described: str
) -> None:
    project = Project("legacy-versions", [ReleaseSpec(v) for v in versions])
    fake.add(project)
    assert project.doc()["info"]["version"] == described  # the fake orders as warehouse does
    client = pypi_client()
    missed = client.get("/pypi/legacy-versions/json")
    assert missed.json() == project.doc()
    stored = pypi_client(offline=True)  # a new process: chosen again from the stored rows
    assert stored.get("/pypi/legacy-versions/json").content == missed.content
    latest = stored.get("/pypi/legacy-versions/latest/json", follow_redirects=False)
    assert latest.headers["location"] == f"/pypi/legacy-versions/{described}/json"
    simple = stored.get("/simple/legacy-versions/", headers={"Accept": V1_JSON}).json()
    oldest_first = sorted(versions, key=legacy_parse)
    assert simple["versions"] == oldest_first


def test_hundreds_of_releases(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    body = pypi_client().get("/pypi/big-project/json").json()
    assert len(body["releases"]) == 500
    assert body == fake.projects["big-project"].doc()
    yanked = [v for v, files in body["releases"].items() if files and files[0]["yanked"]]
    assert yanked and all(body["releases"][v][0]["yanked_reason"] == "broken wheel" for v in yanked)


def test_latest_aliases_redirect_to_the_version(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    aliases = [("latest", "3.0.0"), ("latest-stable", "3.0.0"), ("latest-unstable", "4.0.0b1")]
    for alias, target in aliases:
        response = client.get(f"/pypi/sampleproject/{alias}/json", follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == f"/pypi/sampleproject/{target}/json"
        assert client.get(response.headers["location"]).json()["info"]["version"] == target


def test_latest_stable_is_404_without_a_final_release(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    response = client.get("/pypi/only-pre/latest-stable/json", follow_redirects=False)
    assert response.status_code == 404
    unstable = client.get("/pypi/only-pre/latest-unstable/json", follow_redirects=False)
    assert unstable.headers["location"] == "/pypi/only-pre/1.0b2/json"


NOT_FOUND = [
    "/pypi/no-such-project/json",
    "/pypi/sampleproject/9.9.9/json",
    "/pypi/-bad-name-/json",
    "/pypi/sampleproject/latest-stable-ish/json",
    "/pypi/sampleproject/" + "9" * 4301 + "/json",  # more digits than int() reads
    "/pypi/sampleproject/1." + "9" * 5000 + "/json",
]


def test_not_found_is_pypis_body_with_cors(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    for path in NOT_FOUND:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.content == b'{"message": "Not Found"}'
        assert response.headers["access-control-allow-origin"] == "*"


def test_invalid_names_never_reach_the_upstream(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    client = pypi_client()
    for path in [
        "/pypi/..%2F..%2Fetc/json",
        "/pypi/-bad-name-/json",
        "/pypi/sampleproject%0A/json",
    ]:
        assert client.get(path).status_code == 404, path
    assert fake.total() == 0


def test_headers_like_pypi(pypi_client: PyPIClient) -> None:
    response = pypi_client().get("/pypi/sampleproject/json")
    assert response.headers["x-pypi-last-serial"] == "100"
    assert response.headers["cache-control"] == "max-age=900, public"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "X-PyPI-Last-Serial" in response.headers["access-control-expose-headers"]
    assert response.headers["content-type"] == "application/json"
    assert response.headers["etag"].startswith('"')


def test_etag_revalidation_answers_304(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    first = client.get("/pypi/sampleproject/json")
    etag = first.headers["etag"]
    again = client.get("/pypi/sampleproject/json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["x-pypi-last-serial"] == "100"
    weak = client.get("/pypi/sampleproject/json", headers={"If-None-Match": f'"x", W/{etag}'})
    assert weak.status_code == 304
    other = client.get("/pypi/sampleproject/json", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200


def test_etag_differs_between_project_and_release(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    project = client.get("/pypi/sampleproject/json").headers["etag"]
    release = client.get("/pypi/sampleproject/3.0.0/json").headers["etag"]
    assert project != release


def test_head_is_answered(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    assert client.head("/pypi/sampleproject/json").status_code == 200
    assert client.head("/pypi/").status_code == 200


def test_gzip_is_a_separate_representation(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    plain = client.get("/pypi/big-project/json", headers={"Accept-Encoding": "identity"})
    # The first request that could take gzip is answered as it is, and the gzip made after it.
    first = client.get("/pypi/big-project/json", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in first.headers
    packed = client.get("/pypi/big-project/json", headers={"Accept-Encoding": "gzip, br"})
    refused = client.get("/pypi/big-project/json", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in plain.headers
    assert "content-encoding" not in refused.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.content == plain.content  # decoded by the client
    assert int(packed.headers["content-length"]) < len(plain.content) / 4
    assert packed.headers["etag"] != plain.headers["etag"]
    assert "Accept-Encoding" in packed.headers["vary"]
    for etag in (plain.headers["etag"], packed.headers["etag"]):
        again = client.get("/pypi/big-project/json", headers={"If-None-Match": etag})
        assert again.status_code == 304
    small = client.get("/pypi/no-such-project/json", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


def test_openapi_documents_each_endpoint_once(pypi_client: PyPIClient) -> None:
    paths = pypi_client().get("/openapi.json").json()["paths"]
    for path in ("/pypi/{project}/json", "/pypi/{project}/{version}/json", "/simple/{project}/"):
        assert list(paths[path]) == ["get"], path
    assert "/pypi/{project}/json/" not in paths


def test_a_miss_is_answered_uncompressed_and_compressed_for_the_next_request(
    pypi_client: PyPIClient,
) -> None:
    client = pypi_client()
    gzip_ok = {"Accept-Encoding": "gzip"}
    missed = client.get("/pypi/big-project/json", headers=gzip_ok)
    assert missed.status_code == 200
    assert "content-encoding" not in missed.headers
    assert "Accept-Encoding" in missed.headers["vary"]
    after = client.get("/pypi/big-project/json", headers=gzip_ok)
    assert after.headers["content-encoding"] == "gzip"
    assert after.content == missed.content
    assert after.headers["etag"] == missed.headers["etag"][:-1] + '-gz"'
    for etag in (missed.headers["etag"], after.headers["etag"]):
        again = client.get("/pypi/big-project/json", headers={"If-None-Match": etag, **gzip_ok})
        assert again.status_code == 304
        assert again.headers["etag"] == etag  # the representation the client holds
