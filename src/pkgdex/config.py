"""The one typed settings object.

Every setting is read from the environment with the prefix ``PKGDEX_`` (or from a ``.env`` file).
Bad values fail at start-up with a message naming the setting; secrets have no default and
placeholder values are refused, so an unconfigured secret disables its feature instead of
opening it.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "secret", "password", "admin", "default", "test", "example"}
)
MIN_SECRET_LENGTH = 16


class Settings(BaseSettings):
    """pkgdex configuration; each field's description is its documentation."""

    model_config = SettingsConfigDict(
        env_prefix="PKGDEX_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        "sqlite:///./pkgdex.db",
        description="SQLAlchemy URL: sqlite:///path (embedded, WAL) or postgresql+psycopg://...",
    )
    redis_url: str | None = Field(
        None, description="Redis URL; when set, rate-limit counters and locks are shared there."
    )
    redis_prefix: str = Field(
        "pkgdex", min_length=1, description="Prefix of every Redis key pkgdex writes."
    )
    rate_limits: Literal["on", "off"] = Field("on", description="'off' disables every limit.")
    rate_limit_index: str = Field(
        "10/minute;100/hour", description="Per-IP limits on the name index browse and search."
    )
    rate_limit_stats: str = Field(
        "5/second;30/minute", description="Per-IP limits on the download-statistics API."
    )
    trusted_proxies: Annotated[tuple[IPNetwork, ...], NoDecode] = Field(
        (),
        description="Comma-separated addresses/CIDRs whose X-Forwarded-For is believed.",
    )
    bypass_secret: SecretStr | None = Field(
        None, description="Secret for /get-bypass; unset disables bypass tokens."
    )
    rebuild_secret: SecretStr | None = Field(
        None, description="Secret for /rebuild; unset disables remote rebuilds."
    )
    index_sources: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Where /rebuild reloads each ecosystem from: 'pypi=SOURCE,npm=SOURCE'.",
    )
    index_bootstrap: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Sources loaded in the background on a cold start: 'pypi=SOURCE,npm=SOURCE'.",
    )
    pypi_upstream: str = Field("https://pypi.org", description="PyPI base URL.")
    npm_upstream: str = Field("https://registry.npmjs.org", description="npm registry base URL.")
    npm_changes_upstream: str = Field(
        "https://replicate.npmjs.com", description="npm replication (_changes) base URL."
    )
    offline: bool = Field(False, description="Never call an upstream.")
    upstream_timeout_seconds: float = Field(10.0, gt=0, description="Upstream request timeout.")
    upstream_max_bytes: int = Field(
        256 * 1024 * 1024, gt=0, description="Largest upstream response accepted."
    )
    metadata_ttl_seconds: int = Field(900, ge=0, description="Freshness of cached metadata.")
    metadata_negative_ttl_seconds: int = Field(
        60, ge=0, description="How long an upstream 404 is remembered."
    )
    downloads_retention_days: int | None = Field(
        None, gt=0, description="Days of download statistics kept; unset keeps everything."
    )
    chart_cache_entries: int = Field(256, ge=0, description="Rendered charts kept in memory.")

    @field_validator("rate_limit_index", "rate_limit_stats")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit like '10/minute;100/hour': {value!r}") from exc
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            return tuple(ipaddress.ip_network(p, strict=False) for p in parts)
        return value

    @field_validator("index_sources", "index_bootstrap", mode="before")
    @classmethod
    def _parse_sources(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        sources: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            ecosystem, sep, source = part.partition("=")
            if not sep or ecosystem.strip() not in ("pypi", "npm") or not source.strip():
                raise ValueError(f"expected 'pypi=SOURCE,npm=SOURCE', got {part!r}")
            sources[ecosystem.strip()] = source.strip()
        return sources

    @field_validator("bypass_secret", "rebuild_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        secret = value.get_secret_value()
        if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"refusing a placeholder or short secret (need {MIN_SECRET_LENGTH}+ characters)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql+psycopg:// URL")
        if value.startswith("postgresql://"):
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limits == "on"
