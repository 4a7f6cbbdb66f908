"""/simple/: PEP 503 HTML and PEP 691 JSON with content negotiation, as pypi.org serves them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from support.fake_pypi import FakePyPI

PyPIClient = Callable[..., TestClient]

V1_JSON = "application/vnd.pypi.simple.v1+json"
V1_HTML = "application/vnd.pypi.simple.v1+html"


def test_html_is_the_default(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    response = pypi_client().get("/simple/sampleproject/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "Accept" in response.headers["vary"].split(", ")
    assert response.headers["x-pypi-last-serial"] == "100"
    html = response.text
    assert '<meta name="pypi:repository-version" content="1.1">' in html
    assert "<title>Links for sampleproject</title>" in html
    assert html.rstrip().endswith("<!--SERIAL 100-->")
    doc = fake.projects["sampleproject"].doc()
    every_file = [f for files in doc["releases"].values() for f in files]
    links = re.findall(r'<a href="([^"]+)" ([^>]*)>([^<]+)</a>', html)
    assert len(links) == len(every_file)
    by_name = {name: (href, attrs) for href, attrs, name in links}
    for f in every_file:
        href, attrs = by_name[f["filename"]]
        assert href == f"{f['url']}#sha256={f['digests']['sha256']}"
        assert 'data-requires-python="&gt;=3.8"' in attrs
        assert ('data-yanked="bad metadata"' in attrs) == f["yanked"]


def test_files_are_oldest_release_first(pypi_client: PyPIClient) -> None:
    html = pypi_client().get("/simple/sampleproject/").text
    names = re.findall(r">([^<]+)</a>", html)
    versions = [n.split("-")[1].removesuffix(".tar.gz") for n in names]
    assert versions[0] == "1.0.0"
    assert versions[-1] == "4.0.0b1"


NEGOTIATION = [
    (V1_JSON, None, V1_JSON),
    (f"{V1_JSON}, text/html;q=0.5", None, V1_JSON),
    (f"{V1_JSON};q=0.2, text/html", None, "text/html"),
    (V1_HTML, None, V1_HTML),
    ("application/*", None, V1_HTML),
    ("*/*", None, "text/html"),
    ("text/html", "json", V1_JSON),
    (None, V1_JSON, V1_JSON),
    (None, "html", "text/html"),
]


def test_content_negotiation(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    for accept, query, expected in NEGOTIATION:
        headers = {"Accept": accept} if accept else {}
        params = {"format": query} if query else {}
        response = client.get("/simple/sampleproject/", headers=headers, params=params)
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == expected, (accept, query)


def test_types_pkgdex_lacks_get_html_as_from_pypi_org(
    pypi_client: PyPIClient, fake: FakePyPI
) -> None:
    client = pypi_client()
    for accept in ("application/xml", "text/html;q=0, application/json"):
        response = client.get("/simple/sampleproject/", headers={"Accept": accept})
        assert response.status_code == 200, accept
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "Accept" in response.headers["vary"].split(", ")


@pytest.mark.parametrize("accept", ["", V1_HTML, V1_JSON])
def test_html_pages_may_run_nothing_and_no_answer_is_sniffed(
    pypi_client: PyPIClient, accept: str
) -> None:
    # The pages' links are the upstream's: a javascript: URL among them must not run.
    client = pypi_client()
    headers = {"Accept": accept} if accept else {}
    for _ in range(2):  # the miss, then the answer from memory on the event loop
        response = client.get("/simple/sampleproject/", headers=headers)
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"
        policy = response.headers.get("content-security-policy")
        if accept == V1_JSON:
            assert policy is None
        else:
            assert policy == "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    assert client.get("/pypi/sampleproject/json").headers["x-content-type-options"] == "nosniff"


def test_an_unknown_format_parameter_is_406(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    response = pypi_client().get("/simple/sampleproject/", params={"format": "yaml"})
    assert response.status_code == 406
    assert "Accept" in response.headers["vary"].split(", ")
    assert fake.total() == 0


def test_pep691_json_detail(pypi_client: PyPIClient, fake: FakePyPI) -> None:
    response = pypi_client().get("/simple/sampleproject/", headers={"Accept": V1_JSON})
    body = response.json()
    assert body["meta"] == {"_last-serial": 100, "api-version": "1.1"}
    assert body["name"] == "sampleproject"
    # 0.9 has no files: pypi.org lists the versions of its files (warehouse _simple_detail).
    assert body["versions"] == ["1.0.0", "2.0.0", "3.0.0", "3.1.0", "4.0.0b1"]
    doc = fake.projects["sampleproject"].doc()
    expected = {f["filename"]: f for files in doc["releases"].values() for f in files}
    assert {f["filename"] for f in body["files"]} == set(expected)
    for entry in body["files"]:
        original = expected[entry["filename"]]
        assert entry["url"] == original["url"]
        assert entry["hashes"] == {"sha256": original["digests"]["sha256"]}
        assert entry["size"] == original["size"]
        assert entry["upload-time"] == original["upload_time_iso_8601"]
        assert entry["requires-python"] == ">=3.8"
        assert entry["yanked"] == ("bad metadata" if original["yanked"] else False)
        # The upstream's PEP 691 page says which files have core metadata (PEP 658/714).
        metadata = fake.projects["sampleproject"].core_metadata(entry["filename"])
        expected_metadata = metadata and {"sha256": hashlib.sha256(metadata).hexdigest()}
        assert entry["core-metadata"] == (expected_metadata or False)
        assert entry["data-dist-info-metadata"] == entry["core-metadata"]


def test_index_lists_stored_projects_with_serials(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    client.get("/pypi/sampleproject/json")
    client.get("/pypi/zope-interface-extra/json")
    client.get("/pypi/no-such-project/json")  # remembered as absent, never listed
    body = client.get("/simple/", headers={"Accept": V1_JSON}).json()
    assert body["meta"] == {"_last-serial": 200, "api-version": "1.1"}
    assert body["projects"] == [
        {"_last-serial": 100, "name": "sampleproject"},
        {"_last-serial": 200, "name": "Zope.Interface_Extra"},
    ]
    html = client.get("/simple/").text
    assert '<a href="/simple/zope-interface-extra/">Zope.Interface_Extra</a>' in html


def test_redirects_to_the_normalised_url(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    for path, location in [
        ("/simple/Zope.Interface_Extra/", "/simple/zope-interface-extra/"),
        ("/simple/sampleproject", "/simple/sampleproject/"),
        ("/simple", "/simple/"),
    ]:
        response = client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (301, location), path


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/simple/SampleProject/?format=json", "/simple/sampleproject/?format=json"),
        ("/simple/sampleproject?format=json", "/simple/sampleproject/?format=json"),
        ("/simple?x=1", "/simple/?x=1"),
        ("/simple/a%20b", "/simple/a%20b/"),
        ("/simple/a%3Fb", "/simple/a%3Fb/"),
        ("/simple/a%23b", "/simple/a%23b/"),
        ("/simple/a%0d%0aX:%201", "/simple/a%0D%0Ax%3A%201/"),
        ("/simple/%E2%98%83", "/simple/%E2%98%83/"),
        ("/simple/%C3%A9t%C3%A9", "/simple/%C3%A9t%C3%A9/"),
    ],
)
def test_redirects_escape_the_name_and_keep_the_query(
    pypi_client: PyPIClient, path: str, location: str
) -> None:
    # Any text may arrive as a name: the Location is always one URL, and never another project.
    response = pypi_client().get(path, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (301, location)


def test_redirect_with_format_lands_on_that_format(pypi_client: PyPIClient) -> None:
    response = pypi_client().get("/simple/SampleProject", params={"format": V1_JSON})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(V1_JSON)


def test_json_api_redirect_keeps_the_query(pypi_client: PyPIClient) -> None:
    response = pypi_client().get("/pypi/SampleProject/json?x=1", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (
        301,
        "/pypi/sampleproject/json?x=1",
    )


def test_unknown_project_is_404(pypi_client: PyPIClient) -> None:
    assert pypi_client().get("/simple/no-such-project/").status_code == 404


def test_simple_etag_revalidation(pypi_client: PyPIClient) -> None:
    client = pypi_client()
    html = client.get("/simple/sampleproject/")
    as_json = client.get("/simple/sampleproject/", headers={"Accept": V1_JSON})
    assert html.headers["etag"] != as_json.headers["etag"]
    again = client.get(
        "/simple/sampleproject/",
        headers={"Accept": V1_JSON, "If-None-Match": as_json.headers["etag"]},
    )
    assert again.status_code == 304
