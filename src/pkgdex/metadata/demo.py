"""Bundled demo projects for ``pkgdex serve --demo`` (offline).

They are small illustrations in pypi.org's JSON API shape, not copies of real projects'
documents: digests are left out on purpose, so no installer mistakes them for real metadata.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from packaging.utils import canonicalize_name

_PROJECTS: dict[str, tuple[str, list[tuple[str, bool]]]] = {
    # name: (summary, [(version, yanked)]) oldest first
    "pkgdex-demo": (
        "A demo project of pkgdex",
        [("0.9.0", False), ("1.0.0", False), ("1.1.0", True), ("2.0.0rc1", False)],
    ),
    "Demo.Project_Name": ("A demo project whose name needs normalising", [("3.0", False)]),
    "demo-prerelease-only": ("A demo project with only pre-releases", [("0.1a1", False)]),
}
_START = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def documents() -> list[dict[str, Any]]:
    """One JSON API project document per demo project."""
    return [_document(name, summary, releases) for name, (summary, releases) in _PROJECTS.items()]


def _document(name: str, summary: str, releases: list[tuple[str, bool]]) -> dict[str, Any]:
    files = {
        version: _files(name, version, yanked, _START + timedelta(days=30 * i))
        for i, (version, yanked) in enumerate(releases)
    }
    finals = [v for v, yanked in releases if not yanked and "rc" not in v and "a" not in v]
    latest = finals[-1] if finals else releases[-1][0]
    return {
        "info": _info(name, summary, latest),
        "last_serial": 1000 + len(releases),
        "releases": files,
        "urls": files[latest],
        "vulnerabilities": [],
    }


def _info(name: str, summary: str, version: str) -> dict[str, Any]:
    page = f"https://pypi.org/project/{canonicalize_name(name)}/"
    return {
        "author": "The pkgdex authors",
        "classifiers": ["Programming Language :: Python :: 3"],
        "description": f"{summary}.\n",
        "description_content_type": "text/markdown",
        "license_expression": "Apache-2.0",
        "name": name,
        "package_url": page,
        "project_url": page,
        "release_url": f"{page}{version}/",
        "requires_python": ">=3.9",
        "summary": summary,
        "version": version,
    }


def _files(name: str, version: str, yanked: bool, uploaded: datetime) -> list[dict[str, Any]]:
    stem = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    return [
        {
            "filename": filename,
            "packagetype": packagetype,
            "python_version": python_version,
            "requires_python": ">=3.9",
            "size": 2048 + len(filename),
            "upload_time_iso_8601": uploaded.isoformat().replace("+00:00", "Z"),
            "url": f"https://files.pythonhosted.org/packages/demo/{filename}",
            "yanked": yanked,
            "yanked_reason": "demo of a yanked release" if yanked else None,
        }
        for filename, packagetype, python_version in (
            (f"{stem}-py3-none-any.whl", "bdist_wheel", "py3"),
            (f"{stem}.tar.gz", "sdist", "source"),
        )
    ]
