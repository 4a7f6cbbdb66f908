"""PyPI metadata (JSON and Simple APIs) and the pull-through engine npmregistry shares."""

from __future__ import annotations

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    """Attach this domain's routes and start-up work to ``app``."""
