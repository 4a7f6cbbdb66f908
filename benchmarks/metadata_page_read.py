"""What reading the upstream's PEP 691 page of a large project costs in process: the core
metadata of each file, matched to the stored files on a Simple page's miss (``listing.read_page``).
The naive baseline parses the page with orjson and checks each hash with a pattern of its own.
Both are timed back to back and after 200 ms idle, as a miss finds the CPU, with the cyclic
garbage collector paused as a miss pauses it (``collector.py``). Run it with
``PYTHONPATH=<older src>`` for the code before a change, in the same minutes.

    .venv/bin/python benchmarks/metadata_page_read.py [--releases 500] [--pages 40]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from measure import percentiles, timed_paused

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pkgdex.metadata.listing import read_page
from support.fake_pypi import big_project, fresh_major

IDLE = 0.2
_HASH = re.compile(r"[a-z0-9_]{1,32}").fullmatch
_DIGEST = re.compile(r"[0-9a-f]{1,256}").fullmatch


def naive(body: bytes) -> dict[str, tuple[str | None, Any]]:
    page = orjson.loads(body)
    listed = {}
    for f in page["files"]:
        value = f.get("core-metadata", f.get("data-dist-info-metadata")) or False
        if isinstance(value, dict) and not all(
            _HASH(name) and _DIGEST(digest) for name, digest in value.items()
        ):
            raise ValueError(f["filename"])
        listed[f["filename"]] = (f.get("hashes", {}).get("sha256"), value)
    return listed


def p50_ms(read: Callable[[bytes], object], pages: list[bytes], idle: float) -> float:
    each = iter(pages)
    return percentiles(timed_paused(lambda: read(next(each)), len(pages), idle))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument("--pages", type=int, default=40)
    args = parser.parse_args()
    pages = [
        orjson.dumps(big_project("page-bench", args.releases, fresh_major(n)).simple_page())
        for n in range(args.pages)
    ]
    url = "https://pypi.example.org/simple/page-bench/"
    assert read_page(pages[0], url).listed == naive(pages[0])
    assert read_page(pages[0], url, whole=True).listed == naive(pages[0])
    print(f"| {len(pages[0]) // 1024} KiB page, p50 ms | back to back | after {IDLE:g} s idle |")
    print("|---|---:|---:|")
    for label, read in (
        ("naive baseline: orjson, a pattern per hash", naive),
        ("pkgdex (`listing.read_page`), for core metadata", lambda body: read_page(body, url)),
        (
            "pkgdex (`listing.read_page`), whole, for a first page",
            lambda body: read_page(body, url, whole=True),
        ),
    ):
        print(f"| {label} | {p50_ms(read, pages, 0):.3f} | {p50_ms(read, pages, IDLE):.3f} |")


if __name__ == "__main__":
    main()
