"""A fake pypi.org per test, and clients of apps pulling through from it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support.fake_pypi import FakePyPI


@pytest.fixture
def fake() -> Iterator[FakePyPI]:
    with FakePyPI() as server:
        yield server


PyPIClient = Callable[..., TestClient]


@pytest.fixture
def pypi_client(make_client: Callable[..., TestClient], fake: FakePyPI) -> PyPIClient:
    """An app whose PyPI upstream is ``fake`` (online, short timeout)."""

    def factory(**overrides: Any) -> TestClient:
        values: dict[str, Any] = {
            "pypi_upstream": fake.url,
            "offline": False,
            "upstream_timeout_seconds": 1.0,
        }
        values.update(overrides)
        return make_client(**values)

    return factory
