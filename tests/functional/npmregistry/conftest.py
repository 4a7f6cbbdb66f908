"""A fake npm upstream on loopback and pkgdex clients pulling through from it (per backend)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support.fake_npm import FakeNpm, NpmClient, serve_fake_npm


@pytest.fixture
def fake_npm() -> Iterator[FakeNpm]:
    with serve_fake_npm(timeout_sleep=2.0) as fake:
        yield fake


@pytest.fixture
def npm_client(make_client: Callable[..., TestClient], fake_npm: FakeNpm) -> NpmClient:
    """A pkgdex client whose npm upstream is the fake (online; small limits for fault tests)."""

    def factory(**overrides: Any) -> TestClient:
        settings: dict[str, Any] = {
            "offline": False,
            "npm_upstream": fake_npm.base_url,
            "upstream_timeout_seconds": 0.5,
            "upstream_max_bytes": 4_000_000,
        }
        settings.update(overrides)
        return make_client(**settings)

    return factory
