"""Long-running work of the npmregistry domain, shared by the CLI and the server."""

from __future__ import annotations

from sqlalchemy import Engine


def load_demo(engine: Engine) -> None:
    """Fill the demo database with this domain's bundled data."""
