"""PEP 440 ordering and the release choices pypi.org makes (which release is "latest").

Versions that are not valid PEP 440 (old uploads have them) sort below every valid one and
count as neither final nor pre-release, as warehouse's ``is_prerelease IS NULL`` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Protocol, TypeVar

from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

OrderKey = tuple[int, Version | None, str]


class Release(Protocol):
    @property
    def version(self) -> str: ...
    @property
    def yanked(self) -> bool: ...


R = TypeVar("R", bound=Release)


@lru_cache(maxsize=65536)
def order_key(version: str) -> OrderKey:
    """Sort key: invalid versions first (by text), then PEP 440 order."""
    try:
        return (1, Version(version), version)
    except InvalidVersion:
        return (0, None, version)


def _sortable(version: str) -> tuple[int, Version, str]:
    rank, parsed, text = order_key(version)
    return (rank, parsed if parsed is not None else _ZERO, text)


_ZERO = Version("0")


@lru_cache(maxsize=65536)
def is_prerelease(version: str) -> bool | None:
    parsed = order_key(version)[1]
    return None if parsed is None else parsed.is_prerelease


def newest_first(releases: Iterable[R]) -> list[R]:
    return sorted(releases, key=lambda r: _sortable(r.version), reverse=True)


def _pick(releases: Iterable[R], stability: bool) -> R | None:
    def key(r: R) -> tuple[bool, int, tuple[int, Version, str]]:
        pre = is_prerelease(r.version)
        stable_rank = 2 if pre is False else 1 if pre else 0
        return (not r.yanked, stable_rank if stability else 0, _sortable(r.version))

    return max(releases, key=key, default=None)


def pick_latest(releases: Sequence[R]) -> R | None:
    """What /pypi/<project>/json describes: newest non-yanked final, else non-yanked
    pre-release, else yanked (finals first)."""
    return _pick(releases, stability=True)


def pick_latest_stable(releases: Sequence[R]) -> R | None:
    """The newest final release (a yanked one only when every final is yanked)."""
    return _pick((r for r in releases if is_prerelease(r.version) is False), stability=False)


def pick_latest_unstable(releases: Sequence[R]) -> R | None:
    """The newest release of any kind (a yanked one only when every release is yanked)."""
    return _pick(releases, stability=False)


def find_version(releases: Sequence[R], wanted: str) -> R | None:
    """The release ``wanted`` names in normalised form ("3.0" finds "3.0.0"); when several
    releases normalise alike, only the exact spelling matches (as pypi.org does)."""
    target = _canonical(wanted)
    matches = [r for r in releases if _canonical(r.version) == target]
    if len(matches) == 1:
        return matches[0]
    return next((r for r in matches if r.version == wanted), None)


@lru_cache(maxsize=65536)
def _canonical(version: str) -> str:
    return canonicalize_version(version)
