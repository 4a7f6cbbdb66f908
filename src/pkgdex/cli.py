"""``pkgdex``: one command line, a group per domain, calling the same jobs as the server."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import typer
import uvicorn
from rich.console import Console

from pkgdex import db
from pkgdex.config import Settings
from pkgdex.downloads import cli as downloads_cli
from pkgdex.index import cli as index_cli
from pkgdex.metadata import cli as metadata_cli
from pkgdex.npmregistry import cli as npmregistry_cli

app = typer.Typer(help="pkgdex: package intelligence for PyPI and npm.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(index_cli.app, name="index")
app.add_typer(downloads_cli.app, name="downloads")
app.add_typer(metadata_cli.app, name="metadata")
app.add_typer(npmregistry_cli.app, name="npm")
console = Console(stderr=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the configured database to REVISION (default: the newest)."""
    db.upgrade(Settings().database_url, revision)
    console.print("database is up to date")


@db_app.command("check")
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    db.check(Settings().database_url)
    console.print("models and migrations agree")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, help="Server processes."),
    demo: bool = typer.Option(False, help="Serve a throwaway database of bundled demo data."),
) -> None:
    """Run the HTTP server."""
    if demo:
        from pkgdex.demo import build_demo_database

        path = Path(tempfile.mkdtemp(prefix="pkgdex-demo-")) / "demo.db"
        url = f"sqlite:///{path}"
        console.print("building the demo database from bundled data...")
        build_demo_database(url)
        os.environ["PKGDEX_DATABASE_URL"] = url
        os.environ.setdefault("PKGDEX_OFFLINE", "1")
    else:
        settings = Settings()
        db.upgrade(settings.database_url)
    console.print(f"pkgdex is serving on http://{host}:{port}/  (API docs: /docs)")
    uvicorn.run(
        "pkgdex.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # Who the client is is decided by PKGDEX_TRUSTED_PROXIES alone; uvicorn's own
        # X-Forwarded-For handling would otherwise believe any process on 127.0.0.1.
        proxy_headers=False,
    )


def main() -> None:
    app()
