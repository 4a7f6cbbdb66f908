"""``pkgdex npm ...`` commands."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from pkgdex.config import Settings
from pkgdex.db import make_engine
from pkgdex.npmregistry import jobs

app = typer.Typer(help="The npm registry cache.", no_args_is_help=True)
console = Console(stderr=True)


@app.command("sync")
def sync(
    names: Annotated[list[str], typer.Argument(help="Package names, e.g. left-pad @types/node.")],
) -> None:
    """Fetch NAMES from the npm upstream now and store their packuments."""
    settings = Settings()
    if settings.offline:
        console.print("pkgdex is offline (PKGDEX_OFFLINE): nothing to sync from")
        raise typer.Exit(2)
    engine = make_engine(settings.database_url)
    try:
        results = jobs.sync(engine, settings, names)
    finally:
        engine.dispose()
    for result in results:
        detail = f" ({result.detail})" if result.detail else ""
        console.print(f"{result.name}: {result.outcome}{detail}")
    if any(r.outcome == "failed" for r in results):
        raise typer.Exit(1)
