"""The Simple repository API: PEP 503 HTML and PEP 691 JSON, negotiated as PEP 691 says.

Bodies follow warehouse's ``packaging/utils.py`` and its ``api/simple`` templates; the files
point at the upstream's URLs (pkgdex indexes metadata, it does not host distributions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from pkgdex.metadata.queries import FileRow, ProjectView
from pkgdex.metadata.render import Rendered, dumps, make_etag
from pkgdex.metadata.versions import newest_first

API_VERSION = "1.1"
HTML = "text/html"
V1_HTML = "application/vnd.pypi.simple.v1+html"
V1_JSON = "application/vnd.pypi.simple.v1+json"
OFFERS = (HTML, V1_HTML, V1_JSON)
# PEP 691's meta-version: "latest" names the newest version of the API the server has.
LATEST = {
    "application/vnd.pypi.simple.latest+html": V1_HTML,
    "application/vnd.pypi.simple.latest+json": V1_JSON,
}
FORMATS = {"html": HTML, "json": V1_JSON, **{offer: offer for offer in OFFERS}, **LATEST}


class NotAcceptableError(ValueError):
    """A ``?format=`` that names no format pkgdex serves."""


def choose_format(accept: str | None, requested: str | None) -> str:
    """The content type to answer with: ``?format=`` first (an unknown one is refused), then
    ``Accept`` (q-values); HTML when the client states no preference or accepts none of the
    offers, as pypi.org answers (PEP 691 lets a server refuse those instead, and a client
    that works against pypi.org would then fail here)."""
    if requested is not None:
        chosen = FORMATS.get(requested.strip().lower())
        if chosen is None:
            raise NotAcceptableError(f"unknown format {requested!r}")
        return chosen
    if not accept or not accept.strip():
        return HTML
    best: tuple[float, int] | None = None
    chosen_type = None
    for position, offer in enumerate(OFFERS):
        quality = _quality(accept, offer)
        if quality > 0 and (best is None or (quality, -position) > best):
            best, chosen_type = (quality, -position), offer
    return HTML if chosen_type is None else chosen_type


def _quality(accept: str, offer: str) -> float:
    """The q-value ``accept`` gives ``offer``, the most specific matching range winning."""
    offer_type, offer_sub = offer.split("/")
    best_specificity, best_q = -1, 0.0
    for item in accept.split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        kind, _, sub = LATEST.get(media, media).partition("/")
        if kind == "*" and sub in ("*", ""):
            specificity = 0
        elif kind == offer_type and sub == "*":
            specificity = 1
        elif (kind, sub) == (offer_type, offer_sub):
            specificity = 2
        else:
            continue
        if specificity > best_specificity:
            best_specificity, best_q = specificity, _q(params)
    return best_q


def _q(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def project_page(
    view: ProjectView, content_type: str, values: Mapping[str, Any] | None = None
) -> Rendered:
    """The project's page; ``values`` (filename -> core metadata) take the place of what its
    files hold, as ``views.with_core_metadata`` would give them."""
    data = _detail(view, values or {})
    body = dumps(data) if content_type == V1_JSON else _detail_html(data).encode()
    return Rendered(body, make_etag(body), view.state.last_serial)


def index_page(projects: Sequence[tuple[str, str, int]], content_type: str) -> Rendered:
    serial = max((p[2] for p in projects), default=0)
    if content_type == V1_JSON:
        body = dumps(
            {
                "meta": {"_last-serial": serial, "api-version": API_VERSION},
                "projects": [{"_last-serial": s, "name": d} for _, d, s in projects],
            }
        )
    else:
        links = "".join(
            f'    <a href="/simple/{escape(name)}/">{escape(display)}</a>\n'
            for name, display, _ in projects
        )
        body = _INDEX_HTML.format(version=API_VERSION, links=links).encode()
    return Rendered(body, make_etag(body), serial)


def _detail(view: ProjectView, values: Mapping[str, Any]) -> dict[str, Any]:
    oldest_first = list(reversed(view.releases))
    files = [_file(f, r.yanked, r.yanked_reason, values) for r in oldest_first for f in r.files]
    return {
        "meta": {"_last-serial": view.state.last_serial, "api-version": API_VERSION},
        "name": view.state.name,
        # As warehouse's ``_simple_detail``: the versions of the files listed (PEP 700 allows
        # either), so a release without files is not offered to an installer.
        "versions": [r.version for r in reversed(newest_first(view.releases)) if r.files],
        "files": files,
    }


def _file(
    f: FileRow, release_yanked: bool, reason: str | None, values: Mapping[str, Any]
) -> dict[str, Any]:
    yanked = f.yanked or release_yanked
    metadata = values.get(f.filename, f.core_metadata) or False
    return {
        "filename": f.filename,
        "url": f.url,
        "hashes": {"sha256": f.sha256} if f.sha256 else {},
        "requires-python": f.requires_python or None,
        "size": f.size,
        "upload-time": None if f.upload_time is None else f.upload_time.isoformat() + "Z",
        "yanked": (f.yanked_reason or reason or True) if yanked else False,
        "data-dist-info-metadata": metadata,
        "core-metadata": metadata,
    }


def _detail_html(data: dict[str, Any]) -> str:
    links = "".join(_link(f) for f in data["files"])
    return _DETAIL_HTML.format(
        version=API_VERSION,
        name=escape(data["name"]),
        links=links,
        serial=data["meta"]["_last-serial"],
    )


def _link(f: dict[str, Any]) -> str:
    href = escape(f["url"]) + (f"#sha256={f['hashes']['sha256']}" if f["hashes"] else "")
    attrs = ""
    if f["requires-python"]:
        attrs += f'data-requires-python="{escape(f["requires-python"])}" '
    if f["yanked"] is not False:
        reason = f["yanked"] if isinstance(f["yanked"], str) else ""
        attrs += f'data-yanked="{escape(reason)}" '
    metadata = f["core-metadata"]
    if isinstance(metadata, dict) and metadata.get("sha256"):
        value = f"sha256={escape(metadata['sha256'])}"
        attrs += f'data-dist-info-metadata="{value}" data-core-metadata="{value}"'
    elif metadata is True:
        attrs += 'data-dist-info-metadata="true" data-core-metadata="true"'
    return f'    <a href="{href}" {attrs}>{escape(f["filename"])}</a><br />\n'


_DETAIL_HTML = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta name="pypi:repository-version" content="{version}">
    <title>Links for {name}</title>
  </head>
  <body>
    <h1>Links for {name}</h1>
{links}  </body>
</html>
<!--SERIAL {serial}-->
"""

_INDEX_HTML = """<!DOCTYPE html>
<html lang="en">
  <head>
    <meta name="pypi:repository-version" content="{version}">
    <title>Simple index</title>
  </head>
  <body>
{links}  </body>
</html>
"""
