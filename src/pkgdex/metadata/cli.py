"""``pkgdex metadata ...``: fill and refresh the PyPI metadata store from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pkgdex.config import Settings
from pkgdex.db import make_engine
from pkgdex.metadata import jobs
from pkgdex.metadata.cache import PyPICache
from pkgdex.metadata.pullthrough import SingleFlight
from pkgdex.metadata.upstream import Upstream

app = typer.Typer(
    help="PyPI metadata: import documents, sync from the upstream.", no_args_is_help=True
)
console = Console(stderr=True, soft_wrap=True)  # paths in messages stay whole
EXIT_BAD_INPUT = 2
EXIT_SYNC_FAILED = 1  # also an import that failed while writing


@app.command("import")
def import_command(
    path: Annotated[
        Path, typer.Argument(help="Directory of .json[.gz] files, or a .json/.jsonl[.gz] file.")
    ],
) -> None:
    """Store PyPI JSON documents (and npm packuments) from PATH, all or nothing."""
    engine = make_engine(Settings().database_url)
    try:
        report = jobs.import_documents(engine, path)
    except jobs.ImportRejectedError as exc:
        _print_some("[red]bad:[/red]", exc.problems)
        console.print("[red]nothing was imported[/red]")
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    except Exception as exc:  # while writing: the one transaction was rolled back
        console.print(f"[red]could not store the documents:[/red] {exc.__class__.__name__}: {exc}")
        console.print("[red]nothing was imported[/red]")
        raise typer.Exit(EXIT_SYNC_FAILED) from exc
    finally:
        engine.dispose()
    console.print(
        f"imported {report.pypi} PyPI document(s) and {report.npm} npm packument(s); "
        f"{len(report.new_projects)} new PyPI project(s)"
    )
    if report.repeated:
        console.print(
            f"[yellow]{len(report.repeated)} document(s) named what an earlier one did; "
            "the later one was kept:[/yellow]"
        )
        _print_some("[yellow]repeated:[/yellow]", report.repeated)


def _print_some(label: str, lines: list[str], shown: int = 20) -> None:
    for line in lines[:shown]:
        console.print(f"{label} {line}")
    if len(lines) > shown:
        console.print(f"... and {len(lines) - shown} more")


@app.command("sync")
def sync_command(
    names: Annotated[list[str], typer.Argument(help="PyPI project names.")],
) -> None:
    """Fetch NAMES from the PyPI upstream now and store them."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    upstream = Upstream.from_settings(settings)
    flight = SingleFlight.from_settings(settings)
    cache = PyPICache.create(settings, engine, upstream, flight, jobs.tell_name_index)
    try:
        results = jobs.sync_names(cache, names)
    finally:
        cache.close()
        upstream.close()
        flight.close()
        engine.dispose()
    for result in results:
        colour = {"updated": "green", "not found": "yellow"}.get(result.outcome, "red")
        console.print(f"[{colour}]{result.outcome}[/{colour}] {result.name} {result.detail}")
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(EXIT_SYNC_FAILED)
