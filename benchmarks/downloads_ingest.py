"""Download-statistics ingestion: rows/s and peak memory on a 10-million-row input.

The input is the 400,000-row sample (``../shared/data/file-downloads-sample.ndjson.gz``)
replicated 25 times, each copy shifted by one more day, written as NDJSON.gz files and as
Parquet files into a scratch directory (kept between runs, never in the repository). Each
measurement is a fresh ``pkgdex downloads ingest`` process into a fresh SQLite database, so the
figures include start-up, aggregation and the database writes; peak RSS is that process's.
The naive baseline is ``json.loads`` per line in Python counting two of the breakdowns.

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


def run_ingest(files: list[Path], database: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one ``pkgdex downloads ingest`` process."""
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
    return elapsed, usage.ru_maxrss / 1024


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
    args = parser.parse_args()
    rows = SAMPLE_ROWS * args.copies
    ndjson, parquet = make_inputs(args.scratch, args.copies)
    results = []
    with tempfile.TemporaryDirectory(prefix="pkgdex-bench-db-") as tmp:
        for label, files, target in (
            ("NDJSON.gz", ndjson, 300_000),
            ("Parquet", parquet, 1_000_000),
        ):
            seconds, rss = run_ingest(files, Path(tmp) / f"{label}.db")
            results.append((label, files, seconds, rss, target))
    baseline = naive(ndjson[0])
    print(f"\n{rows:,} rows ({args.copies} shifted copies of the sample), 2 DuckDB threads\n")
    print("| input | files | seconds | rows/s | target rows/s | peak RSS | naive rows/s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, files, seconds, rss, target in results:
        print(
            f"| {label} | {len(files)} | {seconds:.1f} | {rows / seconds:,.0f} | "
            f"{target:,} | {rss:,.0f} MB | {baseline:,.0f} |"
        )


if __name__ == "__main__":
    main()
