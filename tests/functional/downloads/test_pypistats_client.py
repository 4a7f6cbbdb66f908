"""The real ``pypistats`` client from PyPI against a live pkgdex server.

The client runs in its own process, pointed at the server through its ``BASE_URL`` module
variable, with its response cache in a temporary ``XDG_CACHE_HOME``; its totals must equal
the independent reference computed from the raw rows that were ingested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pkgdex import db
from pkgdex.downloads import jobs
from support.download_rows import Expected, expected_stats, generate_rows, write_ndjson
from support.server import ServerProcess, start_server

pytestmark = pytest.mark.slow

CLIENT_SCRIPT = """
import json, sys
import pypistats
pypistats.BASE_URL = sys.argv[1]
package = sys.argv[2]
calls = {
    "recent": pypistats.recent(package, format="json"),
    "overall": pypistats.overall(package, format="json"),
    "overall_without": pypistats.overall(package, mirrors=False, format="json"),
    "python_major": pypistats.python_major(package, format="json"),
    "python_minor": pypistats.python_minor(package, format="json"),
    "python_minor_312": pypistats.python_minor(package, version="3.12", format="json"),
    "system": pypistats.system(package, format="json"),
    "system_linux": pypistats.system(package, os="linux", format="json"),
    "daily": pypistats.overall(package, total="daily", format="json"),
    "table": pypistats.python_major(package, format="markdown", color="no"),
}
print(json.dumps({k: (json.loads(v) if k != "table" else v) for k, v in calls.items()}))
"""


@pytest.fixture(scope="module")
def served(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Expected]]:
    """An ingested database (each backend) behind a real uvicorn process."""
    url = module_database_url
    workdir = tmp_path_factory.mktemp("pypistats-client")
    rows = generate_rows(days=12, rows_per_day=300)
    engine = db.make_engine(url)
    try:
        jobs.ingest_files(engine, [str(write_ndjson(rows, workdir / "rows.ndjson.gz"))])
    finally:
        engine.dispose()
    settings = {"PKGDEX_DATABASE_URL": url, "PKGDEX_RATE_LIMITS": "off", "PKGDEX_OFFLINE": "1"}
    server = start_with_retry(settings, workdir)
    try:
        yield server, expected_stats(rows)
    finally:
        server.stop()


def start_with_retry(settings: dict[str, str], workdir: Path) -> ServerProcess:
    """Start the server; once more if the first start fails, since on a busy machine another
    process can take the free port between the probe and uvicorn's bind."""
    try:
        return start_server(settings, log_dir=workdir)
    except RuntimeError:
        return start_server(settings, log_dir=workdir)


def run_client(server: ServerProcess, package: str, cache: Path) -> dict[str, Any]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, f"{server.url}/api/", package],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr + server.log()
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def totals(expected: Expected, package: str, breakdown: str) -> dict[str, int]:
    out: Counter[str] = Counter()
    for (category, _), n in expected.series(package, breakdown).items():
        out[category] += n
    return {c: n for c, n in out.items() if n}


def as_totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {row["category"]: row["downloads"] for row in rows}


@pytest.mark.parametrize("spelling", ["numpy", "Zope.Interface", "typing_extensions"])
def test_client_totals_match_the_reference(
    served: tuple[ServerProcess, Expected], tmp_path: Path, spelling: str
) -> None:
    server, expected = served
    package = {"Zope.Interface": "zope-interface", "typing_extensions": "typing-extensions"}.get(
        spelling, spelling
    )
    got = run_client(server, spelling, tmp_path / "cache")
    day, week, month = expected.recent_for(package)
    assert got["recent"]["data"] == {"last_day": day, "last_month": month, "last_week": week}
    assert got["recent"]["package"] == package
    assert as_totals(got["overall"]["data"]) == totals(expected, package, "overall")
    assert as_totals(got["overall_without"]["data"]) == {
        "without_mirrors": totals(expected, package, "overall")["without_mirrors"]
    }
    for breakdown in ("python_major", "python_minor", "system"):
        assert as_totals(got[breakdown]["data"]) == totals(expected, package, breakdown)
    assert as_totals(got["python_minor_312"]["data"]) == {
        "3.12": totals(expected, package, "python_minor")["3.12"]
    }
    assert as_totals(got["system_linux"]["data"]) == {
        "Linux": totals(expected, package, "system")["Linux"]
    }
    daily = [r for r in got["daily"]["data"] if r["category"] == "without_mirrors"]
    assert len(daily) == len(expected.days)
    total_row = next(line for line in got["table"].splitlines() if line.startswith("| Total"))
    grand_total = sum(totals(expected, package, "python_major").values())
    assert total_row.split("|")[-2].strip() == f"{grand_total:,}"
    assert list((tmp_path / "cache" / "pypistats").glob("*.json"))  # the client cached there


def test_client_reports_an_unknown_package(
    served: tuple[ServerProcess, Expected], tmp_path: Path
) -> None:
    server, _ = served
    script = (
        "import sys, pypistats; pypistats.BASE_URL = sys.argv[1]\n"
        "print(pypistats.python_major('no-such-package', format='json'))\n"
        "try:\n    pypistats.recent('no-such-package', format='json')\n"
        "except Exception as exc:\n    print('error', exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, f"{server.url}/api/"],
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "No data found for https://pypi.org/project/no-such-package/"
    assert lines[1].startswith("error HTTP Error 404")
