"""Name index load: time and peak memory for 1.1 M names (the shared lists) and 4.5 M (x4).

    .venv/bin/python benchmarks/index_load.py [--scale 4] [--postgres URL] [--keep DIR]

Each load runs in its own process (``pkgdex index load``'s job) so its peak RSS is its own.
The naive baseline is what a load without any search structure costs: the same rows inserted
row by row into one plain table through SQLAlchemy. Targets: 1.1 M <= 15 s, 4.5 M <= 60 s,
peak RSS <= 1.5 GB. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from pkgdex import db

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
LISTS = {"pypi": DATA / "pypi-packages.tsv.gz", "npm": DATA / "npm-packages.tsv.gz"}
SUFFIXES = ("", "-core", "-lite", "-ng", "-plus", "-cli", "-kit", "-io")
csv.field_size_limit(sys.maxsize)

LOAD = """
import json, resource, sys, time
from pkgdex.db import make_engine
from pkgdex.index.jobs import load_index
url, ecosystem, source = sys.argv[1:4]
started = time.monotonic()
report = load_index(make_engine(url), ecosystem, source)
print(json.dumps({"seconds": time.monotonic() - started, "loaded": report.loaded,
                  "bad": report.bad_rows,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
NAIVE = """
import csv, gzip, json, sys, time, resource
import sqlalchemy as sa
csv.field_size_limit(sys.maxsize)
url, source = sys.argv[1:3]
engine = sa.create_engine(url)
started = time.monotonic()
with engine.begin() as conn:
    conn.exec_driver_sql("CREATE TABLE naive (name TEXT, version TEXT)")
    insert = sa.text("INSERT INTO naive VALUES (:name, :version)")
    with gzip.open(source, "rt", encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\\t", quoting=csv.QUOTE_NONE)
        next(rows)
        for row in rows:
            conn.execute(insert, {"name": row[0], "version": row[1]})
print(json.dumps({"seconds": time.monotonic() - started,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def synthetic_rows(scale: int) -> Iterator[str]:
    """Every name of both lists, ``scale`` times (the name, then suffixed variants)."""
    for path in LISTS.values():
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(rows)
            at = header.index("version")
            for row in rows:
                summary = row[-1] if len(row) == len(header) else ""
                for suffix in SUFFIXES[:scale]:
                    yield f"{row[0]}{suffix}\t{row[at]}\t\t{summary}\n"


def write_synthetic(path: Path, scale: int) -> Path:
    """An npm-shaped listing of about 1.1 M x ``scale`` names (written once, then reused)."""
    if not path.exists():
        with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as handle:
            handle.write("name\tversion\tdownloads_a_month\tsummary\n")
            handle.writelines(synthetic_rows(scale))
    return path


def run(script: str, *args: str) -> dict[str, float]:
    import json

    out = subprocess.run(
        [sys.executable, "-c", script, *args], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def fresh_sqlite(directory: Path, name: str) -> str:
    url = f"sqlite:///{directory / name}"
    db.upgrade(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--postgres", help="also load 1.1 M names into this PostgreSQL URL")
    parser.add_argument("--keep", type=Path, help="directory for the databases (kept)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="pkgdex-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = ["| case | names | seconds | peak RSS MB | target |", "|---|---:|---:|---:|---|"]

    url = fresh_sqlite(work, "index-1m.db")
    pypi = run(LOAD, url, "pypi", str(LISTS["pypi"]))
    npm = run(LOAD, url, "npm", str(LISTS["npm"]))
    total = pypi["loaded"] + npm["loaded"]
    seconds = pypi["seconds"] + npm["seconds"]
    rss = max(pypi["rss_mb"], npm["rss_mb"])
    rows.append(
        f"| SQLite, shared lists (pypi + npm) | {total:,.0f} | {seconds:.1f} | {rss:.0f} "
        "| <= 15 s |"
    )

    naive = run(NAIVE, f"sqlite:///{work / 'naive.db'}", str(LISTS["pypi"]))
    rows.append(
        f"| naive: row-by-row INSERT, no search structure (pypi only) | {pypi['loaded']:,.0f} "
        f"| {naive['seconds']:.1f} | {naive['rss_mb']:.0f} | baseline |"
    )

    big = write_synthetic(work / f"synthetic-x{args.scale}.tsv.gz", args.scale)
    url = fresh_sqlite(work, "index-4m.db")
    scaled = run(LOAD, url, "npm", str(big))
    rows.append(
        f"| SQLite, synthetic x{args.scale} | {scaled['loaded']:,.0f} | {scaled['seconds']:.1f} "
        f"| {scaled['rss_mb']:.0f} | <= 60 s, <= 1,536 MB |"
    )
    reload = run(LOAD, url, "npm", str(big))
    rows.append(
        f"| SQLite, synthetic x{args.scale}, reload over it | {reload['loaded']:,.0f} "
        f"| {reload['seconds']:.1f} | {reload['rss_mb']:.0f} | |"
    )
    if args.postgres:
        db.upgrade(args.postgres)
        pg_pypi = run(LOAD, args.postgres, "pypi", str(LISTS["pypi"]))
        pg_npm = run(LOAD, args.postgres, "npm", str(LISTS["npm"]))
        rows.append(
            f"| PostgreSQL, shared lists | {pg_pypi['loaded'] + pg_npm['loaded']:,.0f} "
            f"| {pg_pypi['seconds'] + pg_npm['seconds']:.1f} "
            f"| {max(pg_pypi['rss_mb'], pg_npm['rss_mb']):.0f} | |"
        )
    print(f"\nload average at the end: {os.getloadavg()}")
    print("\n".join(rows))
    print(f"\ndatabases in {work}")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"benchmark took {time.monotonic() - started:.0f} s")
