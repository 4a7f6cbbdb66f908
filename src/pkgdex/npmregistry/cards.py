"""The search card: what an npm search result shows of a packument (description, keywords,
date, links, maintainers, publisher, flags), kept beside the packument so search never parses
one."""

from __future__ import annotations

from typing import Any

from pkgdex.npmregistry import packument as pk


def npm_link(name: str) -> str:
    return f"https://www.npmjs.com/package/{name}"


def search_card(doc: pk.Packument) -> dict[str, Any]:
    """What a search result shows of a packument, kept beside it so search never parses one."""
    latest = pk.latest_version(doc)
    manifest: pk.Packument = doc["versions"][latest] if latest else {}
    card: dict[str, Any] = {
        "description": pk.description(doc),
        "keywords": _strings(doc.get("keywords", manifest.get("keywords"))),
        "date": doc.get("time", {}).get(latest) if latest else pk.modified(doc),
        "links": _links(doc),
        "maintainers": _people(doc.get("maintainers")),
        "license": _license(doc.get("license", manifest.get("license"))),
    }
    publisher = _people([manifest.get("_npmUser")])
    if publisher:
        card["publisher"] = publisher[0]
    flags = _flags(manifest, latest)
    if flags:
        card["flags"] = flags
    return card


def _links(doc: pk.Packument) -> dict[str, str]:
    links = {"npm": npm_link(doc["name"])}
    if isinstance(doc.get("homepage"), str):
        links["homepage"] = doc["homepage"]
    repository = doc.get("repository")
    url = repository.get("url") if isinstance(repository, dict) else repository
    if isinstance(url, str) and url:
        links["repository"] = _browsable(url)
    bugs = doc.get("bugs")
    if isinstance(bugs, dict) and isinstance(bugs.get("url"), str):
        links["bugs"] = bugs["url"]
    return links


def _browsable(url: str) -> str:
    url = url.removeprefix("git+")
    url = url.replace("git://", "https://", 1).replace("ssh://git@", "https://", 1)
    return url.removesuffix(".git")


def _people(value: Any) -> list[dict[str, str]]:
    people = value if isinstance(value, list) else []
    found = []
    for person in people:
        if isinstance(person, dict) and isinstance(person.get("name"), str):
            found.append({"username": person["name"], "email": str(person.get("email", ""))})
    return found


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _license(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("type")
    return value if isinstance(value, str) else None


def _flags(manifest: pk.Packument, latest: str | None) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    deprecated = manifest.get("deprecated")
    if isinstance(deprecated, str) and deprecated:  # "" is how a deprecation is lifted
        flags["deprecated"] = deprecated
    if latest and latest.startswith("0."):
        flags["unstable"] = True
    return flags
