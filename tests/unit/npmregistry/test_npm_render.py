"""The install-v1 ("corgi") document, as npm's registry documentation defines it."""

from __future__ import annotations

from typing import Any

from pkgdex.npmregistry.render import abbreviate, abbreviate_version

DIST = {
    "shasum": "bbf102d5ae73afe2c553295e0fb02230216f65b1",
    "tarball": "https://registry.npmjs.org/tiny-tarball/-/tiny-tarball-1.0.0.tgz",
    "integrity": "sha512-SxmEuEiq4d9L2UjUCyP7g3KHND65MJnsFbEwCbaoMp9NYjHjufAzIUCRaRHB+FNTwzZ1e2x",
}


def full_tiny_tarball() -> dict[str, Any]:
    """A full packument shaped like the registry's for a one-version package."""
    return {
        "_id": "tiny-tarball",
        "_rev": "4-6304ee8798a329dd688fa0886c0211a7",
        "name": "tiny-tarball",
        "description": "tiny tarball used for health checks",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {
            "1.0.0": {
                "name": "tiny-tarball",
                "version": "1.0.0",
                "description": "tiny tarball used for health checks",
                "main": "index.js",
                "scripts": {"test": "exit 1"},
                "author": {"name": "Ben Coe", "email": "ben@npmjs.com"},
                "license": "ISC",
                "_id": "tiny-tarball@1.0.0",
                "_shasum": DIST["shasum"],
                "_from": ".",
                "_npmVersion": "2.7.0",
                "_nodeVersion": "1.5.0",
                "_npmUser": {"name": "bcoe", "email": "bencoe@gmail.com"},
                "maintainers": [{"name": "bcoe", "email": "bencoe@gmail.com"}],
                "dist": DIST,
            }
        },
        "readme": "# TinyTarball\n",
        "maintainers": [{"name": "bcoe", "email": "ben@npmjs.com"}],
        "time": {
            "modified": "2022-06-10T06:26:48.548Z",
            "created": "2015-03-24T00:12:24.039Z",
            "1.0.0": "2015-03-24T00:12:24.039Z",
        },
        "license": "ISC",
        "readmeFilename": "README.md",
    }


def test_abbreviated_document_of_a_simple_package() -> None:
    assert abbreviate(full_tiny_tarball()) == {
        "name": "tiny-tarball",
        "modified": "2022-06-10T06:26:48.548Z",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {"name": "tiny-tarball", "version": "1.0.0", "dist": DIST}},
    }


def test_install_relevant_fields_are_kept() -> None:
    manifest = {
        "name": "x", "version": "1.0.0", "dist": DIST, "deprecated": "old",
        "dependencies": {"a": "^1"}, "optionalDependencies": {"b": "^2"},
        "devDependencies": {"c": "^3"}, "peerDependencies": {"d": "*"},
        "peerDependenciesMeta": {"d": {"optional": True}}, "bundleDependencies": ["a"],
        "bin": {"x": "cli.js"}, "directories": {}, "engines": {"node": ">=18"},
        "os": ["linux"], "cpu": ["x64"], "_hasShrinkwrap": False,
        "readme": "r", "keywords": ["k"], "gitHead": "abc", "_npmUser": {"name": "u"},
        "repository": {"url": "git+https://example.org/x.git"}, "license": "MIT",
    }  # fmt: skip
    kept = abbreviate_version(manifest)
    dropped = {"readme", "keywords", "gitHead", "_npmUser", "repository", "license"}
    assert kept == {k: v for k, v in manifest.items() if k not in dropped}


def test_install_scripts_are_flagged() -> None:
    for script in ("preinstall", "install", "postinstall"):
        manifest = {"name": "x", "version": "1.0.0", "scripts": {script: "node build.js"}}
        assert abbreviate_version(manifest)["hasInstallScript"] is True
    other = {"name": "x", "version": "1.0.0", "scripts": {"test": "tap", "prepare": "tsc"}}
    assert "hasInstallScript" not in abbreviate_version(other)


def test_a_packument_without_time_has_no_modified() -> None:
    doc = full_tiny_tarball()
    del doc["time"]
    assert "modified" not in abbreviate(doc)
