"""``pkgdex index ...``: load and sync the name index from the command line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from pkgdex.config import Settings
from pkgdex.db import make_engine
from pkgdex.index import jobs
from pkgdex.index.keys import ECOSYSTEMS
from pkgdex.index.sources import SourceError

app = typer.Typer(help="The package-name index.", no_args_is_help=True)
console = Console(stderr=True)
EXIT_BAD_SOURCE = 2
EXIT_BAD_ARGUMENT = 3


class Format(StrEnum):
    csv = "csv"
    tsv = "tsv"
    json_names = "json-names"
    pep691 = "pep691"


@app.command("load")
def load(
    ecosystem: Annotated[str, typer.Argument(help="pypi or npm")],
    source: Annotated[str, typer.Argument(help="Path or http(s) URL; gzip read transparently.")],
    fmt: Annotated[Format | None, typer.Option("--format", help="Default: detected.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on any bad row.")] = False,
) -> None:
    """Replace ECOSYSTEM's index with SOURCE, atomically."""
    _check(ecosystem)
    engine = make_engine(Settings().database_url)
    try:
        with _progress(f"loading {ecosystem}") as advance:
            report = jobs.load_index(
                engine,
                ecosystem,
                source,
                fmt.value if fmt else None,
                strict=strict,
                progress=advance,
            )
    except SourceError as exc:
        console.print(f"[red]load failed, the current index is unchanged:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_SOURCE) from exc
    finally:
        engine.dispose()
    _print_report(report)


@app.command("sync")
def sync(ecosystem: Annotated[str, typer.Argument(help="pypi or npm")]) -> None:
    """Update ECOSYSTEM's index from its configured upstream registry."""
    _check(ecosystem)
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        with _progress(f"syncing {ecosystem}") as advance:
            report = jobs.sync_index(engine, settings, ecosystem, progress=advance)
    except SourceError as exc:
        console.print(f"[red]sync failed, the current index is unchanged:[/red] {exc}")
        raise typer.Exit(EXIT_BAD_SOURCE) from exc
    finally:
        engine.dispose()
    _print_report(report)


def _check(ecosystem: str) -> None:
    if ecosystem not in ECOSYSTEMS:
        console.print(
            f"[red]unknown ecosystem {ecosystem!r}[/red]; use one of {', '.join(ECOSYSTEMS)}"
        )
        raise typer.Exit(EXIT_BAD_ARGUMENT)


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int], None]]:
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=None)
        yield lambda rows: progress.update(task, completed=rows)


def _print_report(report: jobs.LoadReport) -> None:
    console.print(
        f"{report.ecosystem}: {report.loaded:,} names from {report.source} ({report.format}) "
        f"in {report.seconds:.1f} s; +{report.added:,} / -{report.removed:,}; "
        f"{report.bad_rows:,} bad rows"
    )
    for line, reason in report.bad_examples:
        console.print(f"  line {line}: {reason}")
