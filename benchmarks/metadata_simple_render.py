"""What rendering a large project's Simple page costs in process, and how much of it is left
once the upstream's page has said the files' core metadata: ``simple.prepare`` runs while that
page is on its way, ``simple.fill`` after it. The naive baseline renders the page in one go,
as pkgdex did before: a dict per file, the page encoded once (orjson for JSON, an f-string
per anchor for HTML).

    .venv/bin/python benchmarks/metadata_simple_render.py [--releases 500] [--repeat 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import orjson

from measure import percentiles

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pkgdex.metadata import exact, negotiation, simple
from pkgdex.metadata.queries import ProjectState, ProjectView
from support.fake_pypi import big_project

HASHES = {"sha256": "ab" * 32}


def view_of(releases: int) -> ProjectView:
    project = big_project("render-bench", releases)
    doc = exact.read(orjson.dumps(project.doc()), "render-bench")
    assert doc is not None
    state = ProjectState(1, "render-bench", "render-bench", 200, 7, 0.0, None, "r")
    return exact.project_view(doc, state, {})


def naive(view: ProjectView, content_type: str, values: dict[str, Any]) -> bytes:
    files = []
    for release in reversed(view.releases):
        for f in release.files:
            yanked = f.yanked or release.yanked
            metadata = values.get(f.filename, f.core_metadata) or False
            files.append(
                {
                    "filename": f.filename,
                    "url": f.url,
                    "hashes": {"sha256": f.sha256} if f.sha256 else {},
                    "requires-python": f.requires_python,
                    "size": f.size,
                    "upload-time": None
                    if f.upload_time is None
                    else f.upload_time.isoformat() + "Z",
                    "yanked": (f.yanked_reason or release.yanked_reason or True)
                    if yanked
                    else False,
                    "data-dist-info-metadata": metadata,
                    "core-metadata": metadata,
                }
            )
    page = {
        "meta": {"_last-serial": 7, "api-version": "1.1"},
        "name": "render-bench",
        "files": files,
    }
    if content_type == negotiation.V1_JSON:
        return orjson.dumps(page, option=orjson.OPT_SORT_KEYS)
    anchors = "".join(
        f'<a href="{escape(f["url"])}" data-core-metadata="{bool(f["core-metadata"])}">'
        f"{escape(f['filename'])}</a><br />\n"
        for f in files
    )
    return f"<html><body>{anchors}</body></html>".encode()


def p50_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)[0]


def timed(
    view: ProjectView, content_type: str, values: dict[str, Any]
) -> dict[str, Callable[[], object]]:
    prepared = simple.prepare(view, content_type)
    return {
        "naive": lambda: naive(view, content_type, values),
        "prepare + fill": lambda: simple.project_page(view, content_type, values),
        "fill": lambda: simple.fill(prepared, view.state, values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    view = view_of(args.releases)
    names = [f.filename for r in view.releases for f in r.files]
    values = {name: HASHES if name.endswith(".whl") else False for name in names}
    print(f"| {len(names)} files, p50 ms | JSON | HTML |")
    print("|---|---:|---:|")
    rows: dict[str, list[float]] = {"naive": [], "prepare + fill": [], "fill": []}
    for content_type in (negotiation.V1_JSON, negotiation.HTML):
        for label, fn in timed(view, content_type, values).items():
            rows[label].append(p50_ms(fn, args.repeat))
    labels = {
        "naive": "naive baseline: one pass, a dict per file",
        "prepare + fill": "pkgdex, the whole page (`simple.project_page`)",
        "fill": "pkgdex, left after the upstream's page (`simple.fill`)",
    }
    for label, (json_ms, html_ms) in rows.items():
        print(f"| {labels[label]} | {json_ms:.3f} | {html_ms:.3f} |")


if __name__ == "__main__":
    main()
