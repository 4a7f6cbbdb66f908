"""The index domain."""

from __future__ import annotations

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    """Attach this domain's routes and start-up work to ``app``."""
