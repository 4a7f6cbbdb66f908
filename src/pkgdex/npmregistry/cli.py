"""``pkgdex npm registry ...`` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="The npm registry domain.", no_args_is_help=True)
