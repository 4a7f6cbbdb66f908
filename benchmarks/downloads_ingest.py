"""Download-statistics ingestion: rows/s and peak memory on a 10-million-row input.

The input is the 400,000-row sample (``../shared/data/file-downloads-sample.ndjson.gz``)
replicated 25 times, as NDJSON.gz files and as Parquet files in a scratch directory (kept
between runs, never in the repository), in two layouts:

* ``same days``: 25 copies of the sample over its 45 days (links to one file), so a day holds
  25 times the downloads, as real days hold far more rows than they have distinct categories;
* ``shifted``: copy k moved k days later (69 days), so the output grows with the input: about
  one daily row per ten input rows, the sample's synthetic spread being wide.

Each measurement is a fresh ``pkgdex downloads ingest`` process into a fresh SQLite database,
so the figures include start-up, aggregation and the database writes; peak RSS is that
process's. The naive baseline is ``json.loads`` per line in Python counting two breakdowns.

    .venv/bin/python benchmarks/downloads_ingest.py [--copies 25] [--scratch DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "file-downloads-sample.ndjson.gz"
PKGDEX = Path(sys.executable).with_name("pkgdex")
SAMPLE_ROWS = 400_000
STAMP = re.compile(rb'"timestamp":"(\d{4}-\d\d-\d\d)')


def shifted_copy(text: bytes, days: int) -> bytes:
    def shift(match: re.Match[bytes]) -> bytes:
        day = date.fromisoformat(match.group(1).decode()) + timedelta(days=days)
        return b'"timestamp":"' + day.isoformat().encode()

    return STAMP.sub(shift, text)


def make_inputs(scratch: Path, copies: int) -> tuple[list[Path], list[Path]]:
    """NDJSON.gz and Parquet copies of the sample, made once per scratch directory."""
    ndjson_dir, parquet_dir = scratch / "ndjson", scratch / "parquet"
    ndjson = [ndjson_dir / f"part-{n:03}.ndjson.gz" for n in range(copies)]
    parquet = [parquet_dir / f"part-{n:03}.parquet" for n in range(0, copies, 5)]
    if all(p.exists() for p in ndjson + parquet):
        return ndjson, parquet
    ndjson_dir.mkdir(parents=True, exist_ok=True)
    parquet_dir.mkdir(parents=True, exist_ok=True)
    text = gzip.decompress(SAMPLE.read_bytes())
    for n, path in enumerate(ndjson):
        if not path.exists():  # written under another name first: a killed run leaves no stub
            partial = path.with_suffix(".partial")
            partial.write_bytes(gzip.compress(shifted_copy(text, n), compresslevel=1))
            partial.rename(path)
    connection = duckdb.connect(config={"threads": 2, "memory_limit": "2GB"})
    for first, path in zip(range(0, copies, 5), parquet, strict=True):
        if path.exists():
            continue
        files = [str(p) for p in ndjson[first : first + 5]]
        partial = path.with_suffix(".partial")
        connection.execute(
            f"""COPY (
                SELECT * REPLACE (
                    strptime(timestamp, '%Y-%m-%d %H:%M:%S.%f UTC')::TIMESTAMPTZ AS timestamp)
                FROM read_json($files, format = 'newline_delimited')
            ) TO '{partial}' (FORMAT parquet, COMPRESSION zstd)""",
            {"files": files},
        )
        partial.rename(path)
    return ndjson, parquet


def same_day_inputs(scratch: Path, copies: int) -> tuple[list[Path], list[Path]]:
    """Links to the sample (and to one Parquet copy of it): distinct names, the same rows."""
    folder = scratch / "same-days"
    folder.mkdir(parents=True, exist_ok=True)
    parquet_sample = folder / "sample.parquet.data"
    if not parquet_sample.exists():
        partial = folder / "sample.partial"
        duckdb.connect().execute(
            f"""COPY (
                SELECT * REPLACE (
                    strptime(timestamp, '%Y-%m-%d %H:%M:%S.%f UTC')::TIMESTAMPTZ AS timestamp)
                FROM read_json('{SAMPLE}', format = 'newline_delimited')
            ) TO '{partial}' (FORMAT parquet, COMPRESSION zstd)"""
        )
        partial.rename(parquet_sample)
    links: dict[str, list[Path]] = {"ndjson.gz": [], "parquet": []}
    for suffix, target in (("ndjson.gz", SAMPLE), ("parquet", parquet_sample)):
        for n in range(copies):
            link = folder / f"copy-{n:03}.{suffix}"
            if not link.exists():
                link.symlink_to(target)
            links[suffix].append(link)
    return links["ndjson.gz"], links["parquet"]


def run_ingest(files: list[Path], database: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one ``pkgdex downloads ingest`` process.

    CPU seconds say what the run costs when other work competes for the two cores.
    """
    env = dict(os.environ, PKGDEX_DATABASE_URL=f"sqlite:///{database}")
    subprocess.run([str(PKGDEX), "db", "upgrade"], env=env, check=True, capture_output=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(PKGDEX), "downloads", "ingest", *map(str, files)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    assert process.stderr is not None
    output = process.stderr.read().decode()
    if status != 0:
        raise SystemExit(f"ingest failed: {output}")
    print(output.strip(), file=sys.stderr)
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def naive(path: Path) -> float:
    """Rows/s of json.loads per line, counting overall and python_minor only."""
    counts: Counter[tuple[object, ...]] = Counter()
    started = time.perf_counter()
    rows = 0
    with gzip.open(path, "rt") as lines:
        for line in lines:
            row = json.loads(line)
            details = row.get("details") or {}
            day = (row.get("timestamp") or "")[:10]
            counts[row.get("project"), day, "overall"] += 1
            python = details.get("python") or "null"
            counts[row.get("project"), day, ".".join(python.split(".")[:2])] += 1
            rows += 1
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=25, help="sample copies (25 = 10M rows)")
    parser.add_argument(
        "--scratch",
        type=Path,
        default=Path(tempfile.gettempdir()) / "pkgdex-bench-downloads",
        help="where the generated inputs are kept between runs",
    )
    parser.add_argument(
        "--layout", choices=("same-days", "shifted", "both"), default="both", help="inputs"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = SAMPLE_ROWS * args.copies
    layouts = []
    if args.layout in ("same-days", "both"):
        layouts.append(("same days", *same_day_inputs(args.scratch, args.copies)))
    if args.layout in ("shifted", "both"):
        layouts.append(("shifted", *make_inputs(args.scratch, args.copies)))
    results = []
    with tempfile.TemporaryDirectory(prefix="pkgdex-bench-db-") as tmp:
        for layout, ndjson, parquet in layouts:
            for label, files, target in (
                ("NDJSON.gz", ndjson, 300_000),
                ("Parquet", parquet, 1_000_000),
            ):
                database = Path(tmp) / f"{layout}-{label}.db"
                seconds, cpu, rss = run_ingest(files, database)
                results.append((f"{label}, {layout}", files, seconds, cpu, rss, target))
    baseline = naive(SAMPLE)
    print(f"\n{rows:,} rows per input, 2 DuckDB threads; naive: {baseline:,.0f} rows/s\n")
    print(f"1-minute load average before: {load_before:.1f}, after: {os.getloadavg()[0]:.1f}\n")
    print(
        "| input | files | wall s | rows/s | target rows/s | CPU s | rows per CPU s "
        "| peak RSS | vs naive |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, files, seconds, cpu, rss, target in results:
        print(
            f"| {label} | {len(files)} | {seconds:.1f} | {rows / seconds:,.0f} | {target:,} | "
            f"{cpu:.1f} | {rows / cpu:,.0f} | {rss:,.0f} MB | {rows / seconds / baseline:.1f}x |"
        )


if __name__ == "__main__":
    main()
