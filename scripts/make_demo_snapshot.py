"""Cut the bundled demo snapshot from the full listings in ../shared/data.

Keeps the most popular packages of each ecosystem (PyPI by download rank, npm by downloads a
month) with their versions and summaries, as gzip TSV in src/pkgdex/demo/data/:

    .venv/bin/python scripts/make_demo_snapshot.py [--pypi 10000] [--npm 10000]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "src" / "pkgdex" / "demo" / "data"
csv.field_size_limit(sys.maxsize)


def top_rows(
    path: Path, column: str, count: int, descending: bool
) -> tuple[list[str], list[list[str]]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        at = header.index(column)
        rows = [row for row in reader if len(row) == len(header) and row[at].isdigit()]
    rows.sort(key=lambda row: int(row[at]), reverse=descending)
    return header, sorted(rows[:count], key=lambda row: row[0].lower())


def write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=9) as handle:
        # Fields were read without quoting and hold no tabs or newlines, so plain joins suffice.
        handle.writelines("\t".join(row) + "\n" for row in [header, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pypi", type=int, default=10000)
    parser.add_argument("--npm", type=int, default=10000)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    pypi = top_rows(
        SHARED / "pypi-packages.tsv.gz", "rank_among_15000_most_downloaded", args.pypi, False
    )
    npm = top_rows(SHARED / "npm-packages.tsv.gz", "downloads_a_month", args.npm, True)
    write(OUT / "pypi-demo.tsv.gz", *pypi)
    write(OUT / "npm-demo.tsv.gz", *npm)
    total = sum(path.stat().st_size for path in OUT.glob("*.tsv.gz"))
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
