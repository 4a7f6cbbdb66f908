"""The npm registry read API (pull-through cache of packuments)."""

from __future__ import annotations

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    """Attach this domain's routes and start-up work to ``app``."""
