"""``pkgdex downloads ingest|ingest-bigquery|status`` on both backends: output and exit codes."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from pkgdex.cli import app
from pkgdex.downloads.models import downloads_daily
from support.download_rows import generate_rows, make_row, write_ndjson, write_parquet


@pytest.fixture
def runner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PKGDEX_DATABASE_URL", database_url)
    monkeypatch.delenv("PKGDEX_DOWNLOADS_RETENTION_DAYS", raising=False)
    return CliRunner()


def daily_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(downloads_daily)).scalar_one())


def test_ingest_a_directory_and_a_glob(runner: CliRunner, engine: Engine, tmp_path: Path) -> None:
    rows = generate_rows(days=3, rows_per_day=80)
    (tmp_path / "dir").mkdir()
    write_ndjson(rows[:100], tmp_path / "dir" / "a.ndjson.gz")
    write_parquet(rows[100:], tmp_path / "b.parquet")
    result = runner.invoke(
        app, ["downloads", "ingest", str(tmp_path / "dir"), str(tmp_path / "*.parquet")]
    )
    assert result.exit_code == 0, result.output
    assert "ingested 3 day(s) (2026-09-01 .. 2026-09-03)" in result.output
    assert f"{len(rows):,} rows read" in result.output
    assert "invalid python" in result.output and "missing timestamp" in result.output
    assert daily_count(engine) > 0

    status = runner.invoke(app, ["downloads", "status"])
    assert status.exit_code == 0
    assert "2026-09-03" in status.output and "gap" not in status.output


def test_bad_input_exits_1_and_writes_nothing(
    runner: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    data = gzip.compress(b"".join(b'{"project": "x"}\n' for _ in range(5000)))
    cut = tmp_path / "cut.ndjson.gz"
    cut.write_bytes(data[: len(data) // 2])
    result = runner.invoke(app, ["downloads", "ingest", str(cut)])
    assert result.exit_code == 1
    assert "ingest failed, nothing was written" in result.output
    assert "cut.ndjson.gz" in result.output
    assert daily_count(engine) == 0

    missing = runner.invoke(app, ["downloads", "ingest", str(tmp_path / "nope.ndjson")])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_bad_lines_are_reported_and_the_rest_ingested(
    runner: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    path = write_ndjson(generate_rows(days=1, rows_per_day=20), tmp_path / "rows.ndjson")
    path.write_bytes(path.read_bytes() + b"{oops\n")
    result = runner.invoke(app, ["downloads", "ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert "rejected 1: malformed json" in result.output
    assert f"{path} line 26: malformed json" in result.output.replace("\n", "")


def test_ingest_bigquery_validates_dates(runner: CliRunner) -> None:
    result = runner.invoke(app, ["downloads", "ingest-bigquery", "--date", "2026-13-01"])
    assert result.exit_code == 2
    assert "expected YYYY-MM-DD" in result.output


def test_status_of_an_empty_database(runner: CliRunner) -> None:
    result = runner.invoke(app, ["downloads", "status"])
    assert result.exit_code == 0 and "no download statistics ingested yet" in result.output


def test_status_shows_gaps(runner: CliRunner, tmp_path: Path) -> None:
    rows = [
        make_row("numpy", day)
        for day in (date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 5), date(2026, 9, 7))
    ]
    path = write_ndjson(rows, tmp_path / "rows.ndjson")
    assert runner.invoke(app, ["downloads", "ingest", str(path)]).exit_code == 0
    status = runner.invoke(app, ["downloads", "status"])
    assert "gap: 2026-09-03 .. 2026-09-04" in status.output
    assert "gap: 2026-09-06 .. 2026-09-06" in status.output


def test_an_unmigrated_database_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PKGDEX_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    path = write_ndjson(generate_rows(days=1, rows_per_day=5), tmp_path / "rows.ndjson")
    result = CliRunner().invoke(app, ["downloads", "ingest", str(path)])
    assert result.exit_code == 1
    assert "no such table" in result.output and "pkgdex db upgrade" in result.output
