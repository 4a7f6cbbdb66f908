"""What the general check of a PyPI project document costs in process (``parse_document``), and
the part of it that refuses a NUL character in a text stored in a column of its own
(``documents.where_nul``): the check every miss's write runs behind its answer, and every
imported document before it is stored.

The naive baseline looks for the NUL as the obvious code would: every stored text, checked as
it is walked with where it is (``documents.located_texts``, which pkgdex walks only for a
document that holds one, to say where). pkgdex joins them all and looks once. Timed back to
back with the cyclic garbage collector paused, as the write pauses it (``collector.py``). Run
it with ``PYTHONPATH=<older src>`` for the code before a change (the whole check only).

    .venv/bin/python benchmarks/metadata_document_check.py [--releases 500] [--rounds 100]
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from measure import percentiles, timed_paused

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pkgdex.metadata import documents
from support.fake_pypi import big_project


def naive(doc: documents.PyPIDocument) -> str | None:
    """Each stored text checked as it is walked, with where it is."""
    return next((w for w, text in documents.located_texts(doc) if text and "\x00" in text), None)


def p50_ms(work: Callable[[], object], rounds: int) -> float:
    return percentiles(timed_paused(work, rounds))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--releases", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    data: dict[str, Any] = orjson.loads(orjson.dumps(big_project("check", args.releases).doc()))
    files = sum(len(f) for f in data["releases"].values())
    copies = [copy.deepcopy(data) for _ in range(args.rounds)]
    whole = p50_ms(lambda: documents.parse_document(copies.pop()), args.rounds)
    print(f"| {args.releases} releases, {files} files, p50 ms | |")
    print("|---|---:|")
    print(f"| the whole check (`documents.parse_document`) | {whole:.3f} |")
    if hasattr(documents, "where_nul"):
        doc = documents.parse_document(data)
        assert documents.where_nul(doc) is None and naive(doc) is None
        print(f"| its NUL look, naive: each text as it is walked | "
              f"{p50_ms(lambda: naive(doc), args.rounds):.3f} |")  # fmt: skip
        print(f"| its NUL look, pkgdex: joined, looked through once (`where_nul`) | "
              f"{p50_ms(lambda: documents.where_nul(doc), args.rounds):.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
