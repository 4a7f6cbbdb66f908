"""Bypass tokens and the limiter's storage choice (the HTTP behaviour is tested functionally)."""

from __future__ import annotations

import time

import pytest
from limits.aio.storage import MemoryStorage, RedisStorage

from pkgdex.config import Settings
from pkgdex.ratelimit import (
    BYPASS_VALID_SECONDS,
    Limiter,
    bypass_token_valid,
    make_bypass_token,
)

SECRET = "a-long-enough-bypass-secret"


def test_a_fresh_token_is_valid_for_an_hour() -> None:
    now = time.time()
    token = make_bypass_token(SECRET, now)
    expiry, _, signature = token.partition(":")
    assert int(expiry) == int(now + BYPASS_VALID_SECONDS)
    assert len(signature) == 64 and int(signature, 16) >= 0
    assert bypass_token_valid(SECRET, token, now)
    assert bypass_token_valid(SECRET, token, now + BYPASS_VALID_SECONDS - 1)


def test_an_expired_token_is_refused() -> None:
    now = time.time()
    token = make_bypass_token(SECRET, now - BYPASS_VALID_SECONDS - 1)
    assert not bypass_token_valid(SECRET, token, now)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = make_bypass_token("another-long-enough-secret")
    assert not bypass_token_valid(SECRET, token)


def test_extending_the_expiry_breaks_the_signature() -> None:
    expiry, _, signature = make_bypass_token(SECRET).partition(":")
    forged = f"{int(expiry) + 86400}:{signature}"
    assert not bypass_token_valid(SECRET, forged)


@pytest.mark.parametrize(
    "token",
    ["", ":", "abc", "123", "123:", ":abc", "-5:abc", "12.5:abc", "x:y:z", "９９:abc", "1:é",
     "²:abc", "9" * 5000 + ":abc", "99999999999:é", f"99999999999:{'é' * 64}"],
)  # fmt: skip
def test_malformed_tokens_are_refused_without_error(token: str) -> None:
    assert not bypass_token_valid(SECRET, token)


def test_no_secret_means_no_token_is_valid() -> None:
    token = make_bypass_token(SECRET)
    assert not bypass_token_valid(None, token)
    assert not bypass_token_valid("", token)
    assert not bypass_token_valid(SECRET, None)


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_limiter_counts_in_memory_without_redis() -> None:
    limiter = Limiter.from_settings(settings())
    assert isinstance(limiter.strategy.storage, MemoryStorage)
    assert limiter.enabled


def test_the_limiter_counts_in_redis_when_configured() -> None:
    limiter = Limiter.from_settings(settings(redis_url="redis://127.0.0.1:1/0"))
    assert isinstance(limiter.strategy.storage, RedisStorage)


def test_rate_limits_off_disables_the_limiter() -> None:
    assert not Limiter.from_settings(settings(rate_limits="off")).enabled
