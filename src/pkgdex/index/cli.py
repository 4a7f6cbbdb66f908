"""``pkgdex index ...`` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="The index domain.", no_args_is_help=True)
