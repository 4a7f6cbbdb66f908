"""GET /registry/npm/<name>[/<version|tag>] through HTTP: full and abbreviated packuments,
scoped names in both spellings, npm's 404 shapes, ETags and the pull-through cache."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, update

from pkgdex.npmregistry.models import npm_packuments
from support.fake_npm import CORGI, NPM_INSTALL_ACCEPT, FakeNpm, NpmClient

BASE = "/registry/npm"
INSTALL_FIELDS = {
    "name", "version", "deprecated", "dependencies", "optionalDependencies", "devDependencies",
    "bundleDependencies", "bundledDependencies", "peerDependencies", "peerDependenciesMeta",
    "acceptDependencies", "bin", "directories", "dist", "engines", "os", "cpu", "libc",
    "funding", "_hasShrinkwrap", "hasInstallScript",
}  # fmt: skip


def test_full_packument_is_the_upstream_document(npm_client: NpmClient, fake_npm: FakeNpm) -> None:
    response = npm_client().get(f"{BASE}/left-pad")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == fake_npm.docs["left-pad"]
    tarball = response.json()["versions"]["1.3.0"]["dist"]["tarball"]
    assert tarball == f"{fake_npm.base_url}/left-pad/-/left-pad-1.3.0.tgz"  # the upstream's
    assert "Accept" in response.headers["vary"].split(", ")


@pytest.mark.parametrize("accept", [CORGI, NPM_INSTALL_ACCEPT])
def test_abbreviated_packument_keeps_only_install_fields(
    npm_client: NpmClient, fake_npm: FakeNpm, accept: str
) -> None:
    response = npm_client().get(f"{BASE}/left-pad", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == CORGI
    corgi = response.json()
    full = fake_npm.docs["left-pad"]
    assert set(corgi) == {"name", "modified", "dist-tags", "versions"}
    assert corgi["modified"] == full["time"]["modified"]
    assert corgi["dist-tags"] == full["dist-tags"]
    assert list(corgi["versions"]) == list(full["versions"])
    for version, manifest in corgi["versions"].items():
        assert set(manifest) <= INSTALL_FIELDS
        assert manifest["dist"] == full["versions"][version]["dist"]
        assert "readme" not in manifest and "scripts" not in manifest
    assert corgi["versions"]["1.0.0"]["deprecated"] == "use String.prototype.padStart()"
    assert "deprecated" not in corgi["versions"]["1.3.0"]


def test_abbreviated_native_package_flags_install_script(npm_client: NpmClient) -> None:
    corgi = npm_client().get(f"{BASE}/native-addon", headers={"Accept": CORGI}).json()
    manifest = corgi["versions"]["0.1.0"]
    assert manifest["hasInstallScript"] is True
    assert manifest["os"] == ["linux", "darwin"] and manifest["cpu"] == ["x64", "arm64"]
    assert manifest["peerDependenciesMeta"] == {"node-addon-api": {"optional": True}}
    assert manifest["bin"] == {"native-addon": "bin/cli.js"}
    assert "gypfile" not in manifest


def test_accept_with_q_zero_gets_the_full_document(npm_client: NpmClient) -> None:
    headers = {"Accept": f"{CORGI}; q=0, application/json"}
    response = npm_client().get(f"{BASE}/left-pad", headers=headers)
    assert response.headers["content-type"] == "application/json"
    assert "readme" in response.json()


@pytest.mark.parametrize(
    "path", ["@pkgdex-test%2fscoped", "@pkgdex-test%2Fscoped", "@pkgdex-test/scoped"]
)
def test_scoped_names_in_both_spellings(
    npm_client: NpmClient, fake_npm: FakeNpm, path: str
) -> None:
    response = npm_client().get(f"{BASE}/{path}")
    assert response.status_code == 200
    assert response.json()["name"] == "@pkgdex-test/scoped"
    raw_paths = [raw for raw, _path, _headers in fake_npm.requests]
    assert raw_paths == ["/@pkgdex-test%2Fscoped"]  # asked upstream as npm itself does


@pytest.mark.parametrize(
    ("path", "version"),
    [
        ("left-pad/1.1.0", "1.1.0"),
        ("left-pad/latest", "1.3.0"),
        ("@pkgdex-test/scoped/next", "2.0.0-beta.1"),
        ("@pkgdex-test%2fscoped/1.0.0", "1.0.0"),
        ("@pkgdex-test%2fscoped/latest", "1.1.0"),
    ],
)
def test_version_or_tag(npm_client: NpmClient, fake_npm: FakeNpm, path: str, version: str) -> None:
    response = npm_client().get(f"{BASE}/{path}")
    assert response.status_code == 200
    name = "left-pad" if path.startswith("left-pad") else "@pkgdex-test/scoped"
    assert response.json() == fake_npm.docs[name]["versions"][version]


@pytest.mark.parametrize(
    ("name", "wanted", "version"),
    [
        ("left-pad", "^1.0.0", "1.3.0"),
        ("left-pad", "1.x", "1.3.0"),
        ("left-pad", "~1.1", "1.1.0"),
        ("left-pad", "%3E%3D1.0.0%20%3C1.2", "1.1.0"),  # ">=1.0.0 <1.2"
        ("left-pad", "*", "1.3.0"),
        ("left-pad", "v1.1.0", "1.1.0"),  # loose, as the registry reads it
        ("@pkgdex-test%2fscoped", "^1", "1.1.0"),  # no pre-release unless the range names one
        ("@pkgdex-test/scoped", "%3E%3D2.0.0-beta.0", "2.0.0-beta.1"),
        ("many-versions", "^7.3.0", "7.49.0"),
    ],
)
def test_a_semver_range_answers_its_newest_version(
    npm_client: NpmClient, fake_npm: FakeNpm, name: str, wanted: str, version: str
) -> None:
    client = npm_client()
    response = client.get(f"{BASE}/{name}/{wanted}")
    assert response.status_code == 200
    assert response.json() == fake_npm.docs[name.replace("%2f", "/")]["versions"][version]
    assert client.get(f"{BASE}/{name}/{wanted}").json()["version"] == version


def test_answers_for_ranges_are_not_kept_in_memory(npm_client: NpmClient) -> None:
    # Versions and tags are few, ranges unbounded: a client writing ranges anew each time
    # must not push other packages' answers out.
    client = npm_client()
    assert client.get(f"{BASE}/left-pad").status_code == 200  # the miss: stored behind it
    for path in ("1.3.0", "latest", "^1.0.0", "%3E%3D1.1"):
        assert client.get(f"{BASE}/left-pad/{path}").status_code == 200
    memory = client.app.state.npm_memory  # type: ignore[attr-defined]
    assert memory.recall("left-pad", "doc/1.3.0")[1] is not None
    assert memory.recall("left-pad", "doc/latest")[1] is not None
    assert memory.recall("left-pad", "doc/^1.0.0")[1] is None
    assert memory.recall("left-pad", "doc/>=1.1")[1] is None


@pytest.mark.parametrize(
    "wanted", ["^2.0.0", "<1.0.0", "2.0.0-rc.1", "not-a-range", "^", "1.0.0.0", "1" * 300]
)
def test_a_range_no_version_takes_is_npms_404(npm_client: NpmClient, wanted: str) -> None:
    response = npm_client().get(f"{BASE}/left-pad/{wanted}")
    assert response.status_code == 404
    assert response.json() == f"version not found: {wanted}"


def test_version_abbreviated_on_request(npm_client: NpmClient) -> None:
    response = npm_client().get(f"{BASE}/native-addon/0.1.0", headers={"Accept": CORGI})
    assert response.headers["content-type"] == CORGI
    assert response.json()["hasInstallScript"] is True
    assert "_npmUser" not in response.json()


def test_unknown_version_is_npms_404(npm_client: NpmClient) -> None:
    response = npm_client().get(f"{BASE}/left-pad/9.9.9")
    assert response.status_code == 404
    assert response.json() == "version not found: 9.9.9"


def test_a_miss_answered_with_a_404_version_is_still_stored(
    npm_client: NpmClient, fake_npm: FakeNpm
) -> None:
    client = npm_client()
    assert client.get(f"{BASE}/left-pad/9.9.9").status_code == 404
    assert client.get(f"{BASE}/left-pad/1.3.0").status_code == 200
    offline = npm_client(offline=True, metadata_ttl_seconds=0)
    assert offline.get(f"{BASE}/left-pad").json() == fake_npm.docs["left-pad"]
    assert fake_npm.hits("left-pad") == 1


def test_unknown_package_is_npms_404_and_remembered(
    npm_client: NpmClient, fake_npm: FakeNpm
) -> None:
    client = npm_client()
    for _ in range(3):
        response = client.get(f"{BASE}/no-such-package")
        assert response.status_code == 404
        assert response.json() == {"error": "Not found"}
    assert fake_npm.hits("no-such-package") == 1  # the negative TTL holds the answer


def test_unpublished_package_is_npms_404_and_remembered(
    npm_client: NpmClient, fake_npm: FakeNpm
) -> None:
    unpublished = {
        "time": {"modified": "2020-01-01T00:00:00.000Z", "unpublished": {"versions": ["1.0.0"]}}
    }
    fake_npm.add({"_id": "gone", "name": "gone", **unpublished})
    client = npm_client()
    for _ in range(2):
        response = client.get(f"{BASE}/gone")
        assert response.status_code == 404
        assert response.json() == {"error": "Not found"}
    assert fake_npm.hits("gone") == 1


def test_expired_404_asks_again(npm_client: NpmClient, fake_npm: FakeNpm) -> None:
    client = npm_client(metadata_negative_ttl_seconds=0)
    assert client.get(f"{BASE}/no-such-package").status_code == 404
    fake_npm.add({**fake_npm.docs["left-pad"], "name": "no-such-package", "_id": "no-such-package"})
    assert client.get(f"{BASE}/no-such-package").status_code == 200


@pytest.mark.parametrize("path", ["%20spaces", ".hidden", "_under", "a%22quote", "x" * 215])
def test_invalid_names_are_refused_without_asking_upstream(
    npm_client: NpmClient, fake_npm: FakeNpm, path: str
) -> None:
    response = npm_client().get(f"{BASE}/{path}")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid package name")
    assert fake_npm.requests == []


def test_path_of_three_segments_without_scope_is_404(npm_client: NpmClient) -> None:
    response = npm_client().get(f"{BASE}/left-pad/1.0.0/extra")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


@pytest.mark.parametrize(
    "path",
    ["/", "//left-pad", "/left-pad//1.0.0", "/a/b/c/d", "/a/-/b/c", "/a/b/%0A/d", "/-/%0A/x"],
)
def test_path_no_registry_route_takes_is_npms_404(npm_client: NpmClient, path: str) -> None:
    response = npm_client().get(f"{BASE}{path}")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_fresh_copy_is_served_from_the_cache(npm_client: NpmClient, fake_npm: FakeNpm) -> None:
    client = npm_client()
    bodies = {client.get(f"{BASE}/many-versions").content for _ in range(5)}
    assert len(bodies) == 1
    assert fake_npm.hits("many-versions") == 1


@pytest.mark.parametrize(
    ("path", "accept"),
    [("left-pad", "*/*"), ("left-pad", CORGI), ("left-pad/1.3.0", "*/*"),
     ("left-pad/latest", CORGI), ("-/package/left-pad/dist-tags", "*/*")],
)  # fmt: skip
def test_every_answer_says_how_old_its_copy_is(
    npm_client: NpmClient, engine: Engine, path: str, accept: str
) -> None:
    headers = {"Accept": accept}
    assert npm_client().get(f"{BASE}/{path}", headers=headers).headers["age"] == "0"
    fetched = time.time() - 120
    with engine.begin() as conn:
        conn.execute(update(npm_packuments).values(fetched_at=fetched))
    client = npm_client(offline=True)  # a new process: nothing remembered
    for _ in range(2):  # from the store, then from memory
        age = int(client.get(f"{BASE}/{path}", headers=headers).headers["age"])
        assert 120 <= age <= int(time.time() - fetched)
    etag = client.get(f"{BASE}/{path}", headers=headers).headers.get("etag")
    if etag is not None:
        again = client.get(f"{BASE}/{path}", headers={**headers, "If-None-Match": etag})
        assert again.status_code == 304 and int(again.headers["age"]) >= 120


def test_stale_copy_is_revalidated_with_the_upstream_etag(
    npm_client: NpmClient, fake_npm: FakeNpm
) -> None:
    client = npm_client(metadata_ttl_seconds=0)
    first = client.get(f"{BASE}/left-pad")
    second = client.get(f"{BASE}/left-pad")
    assert first.content == second.content
    assert "x-pkgdex-stale" not in second.headers
    assert fake_npm.hits("left-pad") == 2
    assert fake_npm.requests[1][2]["If-None-Match"] == fake_npm.etag("left-pad")


def test_an_etag_too_long_to_keep_only_costs_a_full_fetch(
    npm_client: NpmClient, fake_npm: FakeNpm
) -> None:
    # Longer than the column that keeps it: a miss storing it failed behind its answer on
    # PostgreSQL, so nothing was ever stored and every request asked again.
    fake_npm.etag_padding = 600
    client = npm_client(metadata_ttl_seconds=0)
    first = client.get(f"{BASE}/left-pad")
    second = client.get(f"{BASE}/left-pad")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert "If-None-Match" not in fake_npm.requests[1][2]
    offline = npm_client(offline=True)  # stored, whatever the database
    assert offline.get(f"{BASE}/left-pad").content == first.content


def test_upstream_change_is_picked_up_after_the_ttl(
    npm_client: NpmClient, fake_npm: FakeNpm
) -> None:
    client = npm_client(metadata_ttl_seconds=0)
    client.get(f"{BASE}/left-pad")
    fake_npm.docs["left-pad"]["dist-tags"]["latest"] = "1.1.0"
    assert client.get(f"{BASE}/left-pad/latest").json()["version"] == "1.1.0"


def test_etag_and_304(npm_client: NpmClient) -> None:
    client = npm_client()
    full = client.get(f"{BASE}/left-pad")
    corgi = client.get(f"{BASE}/left-pad", headers={"Accept": CORGI})
    assert full.headers["etag"] != corgi.headers["etag"]
    again = client.get(f"{BASE}/left-pad", headers={"If-None-Match": full.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == full.headers["etag"]
    mismatch = client.get(
        f"{BASE}/left-pad", headers={"Accept": CORGI, "If-None-Match": full.headers["etag"]}
    )
    assert mismatch.status_code == 200


def test_offline_serves_the_cache_and_never_calls_out(
    npm_client: NpmClient, fake_npm: FakeNpm
) -> None:
    npm_client().get(f"{BASE}/left-pad")
    offline = npm_client(offline=True, metadata_ttl_seconds=0)
    assert offline.get(f"{BASE}/left-pad").json() == fake_npm.docs["left-pad"]
    assert offline.get(f"{BASE}/never-fetched").json() == {"error": "Not found"}
    assert fake_npm.hits("left-pad") == 1
    assert fake_npm.hits("never-fetched") == 0


@pytest.mark.parametrize(
    "path", ["-/whoami", "-/package/left-pad/collaborators", "-/v1/other", "-/package/x/y/z"]
)
def test_other_registry_endpoints_are_npms_404(
    npm_client: NpmClient, fake_npm: FakeNpm, path: str
) -> None:
    response = npm_client().get(f"{BASE}/{path}")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}
    assert fake_npm.requests == []


def test_ping(npm_client: NpmClient) -> None:
    response = npm_client().get(f"{BASE}/-/ping")
    assert response.status_code == 200 and response.json() == {}


def test_version_etag_and_304(npm_client: NpmClient, fake_npm: FakeNpm) -> None:
    client = npm_client(metadata_ttl_seconds=0)
    first = client.get(f"{BASE}/left-pad/latest")
    etag = first.headers["etag"]
    assert client.get(f"{BASE}/left-pad/latest", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"{BASE}/left-pad/1.3.0", headers={"If-None-Match": etag}).status_code == 200
    fake_npm.docs["left-pad"]["dist-tags"]["latest"] = "1.1.0"  # the tag moves upstream
    moved = client.get(f"{BASE}/left-pad/latest", headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.json()["version"] == "1.1.0"


def test_304_for_an_unknown_package_is_still_404(npm_client: NpmClient) -> None:
    response = npm_client().get(f"{BASE}/no-such-package", headers={"If-None-Match": "*"})
    assert response.status_code == 404


def test_if_none_match_star_is_304_only_for_a_version_that_exists(npm_client: NpmClient) -> None:
    client = npm_client()
    star = {"If-None-Match": "*"}
    for _ in range(2):  # the second time, from the process's memory of the row
        assert client.get(f"{BASE}/left-pad/9.9.9", headers=star).status_code == 404
        assert client.get(f"{BASE}/left-pad/1.3.0", headers=star).status_code == 304
        assert client.get(f"{BASE}/left-pad/latest", headers=star).status_code == 304
        other = {"If-None-Match": '"x"'}
        assert client.get(f"{BASE}/left-pad/9.9.9", headers=other).status_code == 404


@pytest.mark.parametrize(
    ("path", "tarball"),
    [
        ("/left-pad/-/left-pad-1.3.0.tgz", "/left-pad/-/left-pad-1.3.0.tgz"),
        ("/@pkgdex-test/scoped/-/scoped-1.0.0.tgz", "/@pkgdex-test/scoped/-/scoped-1.0.0.tgz"),
        ("/@pkgdex-test%2fscoped/-/scoped-2.0.0-beta.1.tgz",
         "/@pkgdex-test/scoped/-/scoped-2.0.0-beta.1.tgz"),
    ],
)  # fmt: skip
def test_tarball_redirects_to_the_upstreams(
    npm_client: NpmClient, fake_npm: FakeNpm, path: str, tarball: str
) -> None:
    response = npm_client().get(f"{BASE}{path}", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == fake_npm.base_url + tarball
    assert response.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/left-pad/-/left-pad-9.9.9.tgz",  # no such version
        "/left-pad/-/left-pad-latest.tgz",  # a dist-tag names no tarball
        "/left-pad/-/other-1.3.0.tgz",  # another package's file name
        "/left-pad/-/left-pad-1.3.0.tar",
        "/left-pad/-/left-pad-.tgz",
        "/no-such-package/-/no-such-package-1.0.0.tgz",
        "/notascope/scoped/-/scoped-1.0.0.tgz",
    ],
)
def test_tarball_that_no_version_lists_is_npms_404(npm_client: NpmClient, path: str) -> None:
    response = npm_client().get(f"{BASE}{path}", follow_redirects=False)
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


@pytest.mark.parametrize(
    "tarball",
    ["https://elsewhere.example/left-pad/-/evil-1.0.0.tgz", "file:///etc/left-pad-1.0.0.tgz",
     "//left-pad-1.0.0.tgz", None,
     # Not a header's value: a line break would end it, and a Location is ASCII.
     "https://registry.example/x\r\nSet-Cookie: a=b/left-pad-1.0.0.tgz",
     "https://registry.example/left-pad/-/\nleft-pad-1.0.0.tgz",
     "https://registry.example/\u00fc/left-pad-1.0.0.tgz",
     "https://registry.example/\u263a/left-pad-1.0.0.tgz",
     "https://registry.example/a b/left-pad-1.0.0.tgz"],
)  # fmt: skip
def test_tarball_redirect_never_leaves_the_file_it_names(
    npm_client: NpmClient, fake_npm: FakeNpm, tarball: str | None
) -> None:
    fake_npm.docs["left-pad"]["versions"]["1.0.0"]["dist"]["tarball"] = tarball
    response = npm_client().get(f"{BASE}/left-pad/-/left-pad-1.0.0.tgz", follow_redirects=False)
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


def test_tarball_of_a_stale_copy_still_redirects(npm_client: NpmClient, fake_npm: FakeNpm) -> None:
    client = npm_client(metadata_ttl_seconds=0)
    assert client.get(f"{BASE}/left-pad").status_code == 200
    fake_npm.fault = "500"
    response = client.get(f"{BASE}/left-pad/-/left-pad-1.3.0.tgz", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["x-pkgdex-stale"] == "1"


@pytest.mark.parametrize(
    ("path", "tags"),
    [
        ("left-pad", {"latest": "1.3.0"}),
        ("@pkgdex-test%2fscoped", {"latest": "1.1.0", "next": "2.0.0-beta.1"}),
        ("@pkgdex-test/scoped", {"latest": "1.1.0", "next": "2.0.0-beta.1"}),
    ],
)
def test_dist_tags_endpoint(npm_client: NpmClient, path: str, tags: dict[str, str]) -> None:
    response = npm_client().get(f"{BASE}/-/package/{path}/dist-tags")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == tags


def test_dist_tags_of_an_unknown_package_is_npms_404(npm_client: NpmClient) -> None:
    response = npm_client().get(f"{BASE}/-/package/no-such-package/dist-tags")
    assert response.status_code == 404
    assert response.json() == {"error": "Not found"}


@pytest.mark.parametrize(
    "path", ["/left-pad", "/left-pad/1.3.0", "/@pkgdex-test%2fscoped", "/-/v1/search?text=pad"]
)
def test_head_is_answered_as_get_without_a_body(npm_client: NpmClient, path: str) -> None:
    client = npm_client()
    got = client.get(f"{BASE}{path}")
    head = client.head(f"{BASE}{path}")
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE", "PATCH"])
def test_writes_are_refused_in_npms_error_shape(npm_client: NpmClient, method: str) -> None:
    # npm prints the "error" string after the status, as for `npm publish` to a read-only mirror.
    answer = npm_client().request(method, "/registry/npm/left-pad")
    assert answer.status_code == 405
    assert answer.json() == {"error": "pkgdex serves npm's registry read API only (GET and HEAD)"}
    assert "GET" in answer.headers["allow"]


@pytest.mark.parametrize("accept", ["application/json", CORGI])
def test_a_packument_is_answered_gzipped_once_its_gzip_is_made(
    npm_client: NpmClient, accept: str
) -> None:
    client = npm_client()
    url, gzip_ok = f"{BASE}/many-versions", {"Accept": accept, "Accept-Encoding": "gzip"}
    missed = client.get(url, headers=gzip_ok)  # a miss, answered as it came
    stored = client.get(url, headers=gzip_ok)  # from the store: plain, compressed behind it
    assert "content-encoding" not in missed.headers and "content-encoding" not in stored.headers
    gzipped = client.get(url, headers=gzip_ok)
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.content == stored.content  # decoded by the client
    assert int(gzipped.headers["content-length"]) < len(stored.content) // 4
    assert gzipped.headers["etag"] == stored.headers["etag"][:-1] + '-gz"'
    assert {"Accept", "Accept-Encoding"} <= set(gzipped.headers["vary"].split(", "))
    plain = client.get(url, headers={"Accept": accept, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert (plain.headers["etag"], plain.content) == (stored.headers["etag"], stored.content)
    for held in (stored.headers["etag"], gzipped.headers["etag"]):
        again = client.get(url, headers={**gzip_ok, "If-None-Match": held})
        assert (again.status_code, again.headers["etag"]) == (304, held)


def test_a_small_answer_or_one_version_is_never_compressed(npm_client: NpmClient) -> None:
    client = npm_client()
    gzip_ok = {"Accept-Encoding": "gzip"}
    for url in (f"{BASE}/many-versions/10.49.0", f"{BASE}/many-versions/latest"):
        for _ in range(3):
            assert "content-encoding" not in client.get(url, headers=gzip_ok).headers
