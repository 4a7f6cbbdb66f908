"""Settings: read from PKGDEX_* variables, bad values fail at start-up naming the setting."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pkgdex.config import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_defaults_are_the_embedded_server_with_no_secret() -> None:
    s = settings()
    assert s.database_url == "sqlite:///./pkgdex.db"
    assert s.redis_url is None
    assert s.bypass_secret is None and s.rebuild_secret is None
    assert s.rate_limits_enabled and s.rate_limit_index == "10/minute;100/hour"
    assert s.trusted_proxies == ()


def test_values_come_from_pkgdex_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PKGDEX_TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    monkeypatch.setenv("PKGDEX_RATE_LIMITS", "off")
    monkeypatch.setenv("PKGDEX_INDEX_SOURCES", "pypi=/data/pypi.tsv.gz, npm=https://x/names.json")
    monkeypatch.setenv("PKGDEX_BYPASS_SECRET", "0123456789abcdef-bypass")
    s = settings()
    assert s.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert not s.rate_limits_enabled
    assert s.index_sources == {"pypi": "/data/pypi.tsv.gz", "npm": "https://x/names.json"}
    assert s.bypass_secret is not None
    assert s.bypass_secret.get_secret_value() == "0123456789abcdef-bypass"


def test_a_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("PKGDEX_REDIS_PREFIX=from-dotenv\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PKGDEX_REDIS_PREFIX", raising=False)  # the environment would win
    assert Settings().redis_prefix == "from-dotenv"


def test_a_host_address_in_trusted_proxies_is_a_single_address_network() -> None:
    s = settings(trusted_proxies="192.168.1.7/24")  # host bits set: taken as its network
    assert s.trusted_proxies == (ipaddress.ip_network("192.168.1.0/24"),)


def test_a_postgresql_url_gets_the_psycopg_driver() -> None:
    s = settings(database_url="postgresql://u@h:5432/db")
    assert s.database_url == "postgresql+psycopg://u@h:5432/db"


def test_an_empty_secret_disables_the_feature() -> None:
    assert settings(bypass_secret="", rebuild_secret="").bypass_secret is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("database_url", "mysql://localhost/x"),
        ("rate_limits", "maybe"),
        ("rate_limit_index", "ten per minute"),
        ("rate_limit_stats", "5/fortnight"),
        ("trusted_proxies", "10.0.0.0/8, not-an-address"),
        ("trusted_proxies", "10.0.0.0/33"),
        ("index_sources", "pypi"),
        ("index_sources", "cargo=/x.csv"),
        ("index_bootstrap", "pypi="),
        ("bypass_secret", "changeme"),
        ("bypass_secret", "short"),
        ("rebuild_secret", "PASSWORD"),
        ("redis_prefix", ""),
        ("upstream_timeout_seconds", "0"),
        ("upstream_max_bytes", "-1"),
        ("metadata_ttl_seconds", "-5"),
        ("offline", "perhaps"),
    ],
)
def test_bad_values_fail_naming_the_setting(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        settings(**{field: value})
    assert field in str(raised.value)


def test_secrets_never_show_in_the_settings_repr() -> None:
    s = settings(bypass_secret="0123456789abcdef-bypass")
    assert "0123456789abcdef-bypass" not in repr(s)


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`(PKGDEX_[A-Z0-9_]+)`", DOCS.read_text()))
    missing = [
        f"PKGDEX_{name.upper()}"
        for name in Settings.model_fields
        if f"PKGDEX_{name.upper()}" not in documented
    ]
    assert not missing, f"document these settings in docs/configuration.md: {missing}"


def test_the_documentation_names_no_setting_that_does_not_exist() -> None:
    known = {f"PKGDEX_{name.upper()}" for name in Settings.model_fields}
    documented = set(re.findall(r"^\| `(PKGDEX_[A-Z0-9_]+)`", DOCS.read_text(), re.M))
    assert documented <= known, f"no such settings: {sorted(documented - known)}"
