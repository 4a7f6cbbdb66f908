"""``pkgdex downloads ...`` commands.

Exit codes: 0 done (rejected rows are reported, not fatal), 1 input that cannot be ingested
(nothing was written), 2 bad usage.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from pkgdex import db
from pkgdex.config import Settings
from pkgdex.downloads import bigquery, jobs, services

app = typer.Typer(help="The downloads domain.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)  # paths and reports stay on one line


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@app.command("ingest")
def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="NDJSON (.ndjson/.json/.jsonl, optionally .gz) or Parquet files, globs, dirs."
        ),
    ],
) -> None:
    """Aggregate BigQuery download-log exports and replace the days they contain.

    Each day found is replaced as a whole: pass all the files of a day in one run.
    """
    settings = Settings()
    engine = db.make_engine(settings.database_url)
    try:
        with _progress() as progress:
            task = progress.add_task("aggregating", total=None)

            def on_files(files: list[Path]) -> None:
                progress.update(task, total=100, description=f"aggregating {len(files)} file(s)")

            def on_progress(fraction: float) -> None:
                progress.update(task, completed=round(fraction * 100))
                if fraction >= 1:
                    progress.update(task, description="writing the daily rows")

            report = jobs.ingest_files(
                engine,
                paths,
                retention_days=settings.downloads_retention_days,
                on_files=on_files,
                on_progress=on_progress,
            )
    except jobs.IngestError as exc:
        console.print(f"[red]ingest failed, nothing was written:[/red] {exc}")
        raise typer.Exit(1) from exc
    except SQLAlchemyError as exc:
        _database_failed(exc)
    finally:
        engine.dispose()
    _print_report(report)


def _database_failed(exc: SQLAlchemyError) -> NoReturn:
    reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()[0]
    console.print(
        f"[red]database error, nothing was written:[/red] {reason} "
        "(is the database migrated? run `pkgdex db upgrade`)"
    )
    raise typer.Exit(1) from exc


def _print_report(report: jobs.IngestReport) -> None:
    days = report.days
    span = f"{days[0]} .. {days[-1]}" if days else "no day"
    console.print(
        f"ingested {len(days)} day(s) ({span}): {report.rows_read:,} rows read, "
        f"{report.rows_rejected:,} rejected, {report.rows_written:,} daily rows written "
        f"in {report.seconds:.1f} s"
    )
    for reason, count in sorted(report.rejected.items()):
        console.print(f"  rejected {count:,}: {reason.replace('_', ' ')}")
    for day in report.skipped_days:
        console.print(f"[yellow]  {day}: every row rejected, day left as it was[/yellow]")
    for problem in report.problems:
        console.print(f"[yellow]  {problem}[/yellow]")


def _parse_day(value: str, option: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param_hint=option) from exc


@app.command("ingest-bigquery")
def ingest_bigquery(
    day: str = typer.Option(..., "--date", help="First day to aggregate (YYYY-MM-DD)."),
    until: str | None = typer.Option(None, "--until", help="Last day (default: --date)."),
) -> None:
    """Aggregate days inside BigQuery (Google credentials from the environment)."""
    first = _parse_day(day, "--date")
    last = _parse_day(until, "--until") if until else first
    settings = Settings()
    engine = db.make_engine(settings.database_url)
    try:
        client = bigquery.make_client()
        with _progress() as progress:
            task = progress.add_task("BigQuery", total=(last - first).days + 1)
            reports = jobs.ingest_bigquery(
                engine,
                client,
                first,
                last,
                retention_days=settings.downloads_retention_days,
                on_day=lambda d: progress.update(task, advance=1, description=f"ingested {d}"),
            )
    except jobs.IngestError as exc:
        console.print(f"[red]BigQuery ingest stopped:[/red] {exc}")
        raise typer.Exit(1) from exc
    except SQLAlchemyError as exc:
        _database_failed(exc)
    except Exception as exc:  # e.g. google.auth's DefaultCredentialsError
        console.print(f"[red]BigQuery is not usable:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    for report in reports:
        _print_report(report)


@app.command("status")
def status() -> None:
    """List the ingested days, the gaps between them and the last ingest."""
    settings = Settings()
    engine = db.make_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            entries = services.ledger_entries(conn)
    finally:
        engine.dispose()
    if not entries:
        console.print("no download statistics ingested yet")
        return
    table = Table("date", "source", "rows read", "rejected", "synthetic", "finished at")
    for entry in entries:
        table.add_row(
            str(entry["date"]),
            entry["source"][:60],
            f"{entry['rows_read']:,}",
            f"{entry['rows_rejected']:,}",
            "yes" if entry["synthetic"] else "",
            str(entry["finished_at"])[:19],
        )
    Console().print(table)
    for first, last in services.gaps(entry["date"] for entry in entries):
        console.print(f"[yellow]gap: {first} .. {last}[/yellow]")
