"""PEP 440 ordering and the release choices pypi.org makes (which release is "latest").

Versions that are not valid PEP 440 (old uploads have them) are ordered as warehouse orders
them (its ``_pypi_ordering``, from ``packaging_legacy``): below every valid version, among
themselves by setuptools' old scheme ("1.9-snapshot" before "1.10-snapshot"), and never
pre-releases (warehouse's ``is_prerelease`` is false for them), so a project's newest legacy
version is described before any of its pre-releases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache, partial
from itertools import compress, filterfalse
from operator import methodcaller
from typing import Any, Protocol, TypeVar

from packaging.utils import canonicalize_version
from packaging.version import Version
from packaging_legacy.version import LegacyVersion

OrderKey = tuple[int, Version | LegacyVersion, str]


class Release(Protocol):
    @property
    def version(self) -> str: ...
    @property
    def yanked(self) -> bool: ...


R = TypeVar("R", bound=Release)


@lru_cache(maxsize=65536)
def order_key(version: str) -> OrderKey:
    """Sort key: invalid versions first (in setuptools' old order), then PEP 440 order."""
    try:
        return (1, Version(version), version)
    except ValueError:  # InvalidVersion, or a number past the 4,300 digits int() reads
        return (0, LegacyVersion(version), version)


@lru_cache(maxsize=65536)
def _sortable(version: str) -> tuple[int, tuple[Any, ...], str]:
    """``order_key`` with the Version replaced by ``pep440_key``: choosing the latest of 500
    releases compared Versions 1,400 times through Python methods (0.3 ms of a miss)."""
    if _plain_release(version):
        return (1, _plain_key(version), version)
    rank, parsed, text = order_key(version)
    if isinstance(parsed, LegacyVersion):  # rank 0: compared with legacy versions only
        return (rank, (parsed,), text)
    return (rank, pep440_key(parsed), text)


# Most versions are only release numbers ("1.2.0"). Their key is built from the digits, as
# ``pep440_key`` would build it from the Version that parsing them makes: parsing was most of
# the cost of choosing the latest of 500 versions that the process had not seen before.
_PLAIN = r"[0-9]+(?:\.[0-9]+)*"
_plain_release = re.compile(_PLAIN).fullmatch
# Pre-releases and dev releases in PEP 440's normal form ("1.0rc1", "2.0.dev3"): every text
# this matches parses as one, or not at all (digits past what int() reads), never as a final.
_plain_prerelease = re.compile(
    rf"{_PLAIN}(?:(?:a|b|rc)[0-9]+(?:\.post[0-9]+)?(?:\.dev[0-9]+)?|(?:\.post[0-9]+)?\.dev[0-9]+)"
).fullmatch
_FINAL = ((2,), (0,), (1,), (0,))  # pep440_key's tail for no pre, post, dev or local part


def _plain_key(version: str) -> tuple[Any, ...]:
    return (0, _significant(map(int, version.split("."))), *_FINAL)


def _significant(release: Iterable[int]) -> tuple[int, ...]:
    """A release's numbers without trailing zeros, which PEP 440 ordering ignores."""
    numbers = list(release)
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def pep440_key(version: Version) -> tuple[Any, ...]:
    """A key that orders as ``Version`` does (PEP 440), built from its public parts as tuples
    of ints and strings, which compare in C. Mirrors packaging's own comparison key: trailing
    zeros of the release do not count; a dev release of no pre-release sorts before every
    pre-release; a pre-release before the final; post and local parts after it."""
    pre, post, dev, local = version.pre, version.post, version.dev, version.local
    if pre is None:
        pre_key: tuple[Any, ...] = (0,) if post is None and dev is not None else (2,)
    else:
        pre_key = (1, *pre)
    return (
        version.epoch,
        _significant(version.release),
        pre_key,
        (0,) if post is None else (1, post),
        (1,) if dev is None else (0, dev),
        (0,) if local is None else (1, tuple(_local_part(p) for p in local.split("."))),
    )


def _local_part(part: str) -> tuple[int, int | str]:
    # Numeric segments sort after alphanumeric ones, and among themselves as numbers.
    return (1, int(part)) if part.isdigit() else (0, part)


@lru_cache(maxsize=65536)
def is_prerelease(version: str) -> bool:
    """Whether ``version`` is a pre- or dev release (never, for a legacy version)."""
    return order_key(version)[1].is_prerelease


def newest_first(releases: Iterable[R]) -> list[R]:
    return sorted(releases, key=lambda r: _sortable(r.version), reverse=True)


SortKey = tuple[int, tuple[Any, ...], str]


def sort_keys(versions: Iterable[str]) -> dict[str, SortKey]:
    """Each version's key in ``oldest_first``'s order, made ahead of the sort: a miss's
    versions seldom repeat other projects', and making their keys costs 2 us each."""
    return {version: _sortable(version) for version in versions}


def oldest_first(versions: Iterable[str], keys: Mapping[str, SortKey] | None = None) -> list[str]:
    """``versions`` in PEP 440 order, oldest first; ``keys`` holds some of their sort keys."""
    if not keys:
        return sorted(versions, key=_sortable)
    return sorted(versions, key=lambda version: keys.get(version) or _sortable(version))


@lru_cache(maxsize=65536)
def _ranked(version: str) -> tuple[int, tuple[int, tuple[Any, ...], str]]:
    """Finals (legacy versions among them, below the valid ones) over pre-releases, then
    PEP 440 order."""
    pre = False if _plain_release(version) else is_prerelease(version)  # no parsing for finals
    return (1 if pre else 2), _sortable(version)


def _pick(releases: Iterable[R], stability: bool) -> R | None:
    rank = _ranked if stability else _sortable

    def key(r: R) -> tuple[bool, Any]:
        return not r.yanked, rank(r.version)

    return max(releases, key=key, default=None)


def pick_latest(releases: Sequence[R]) -> R | None:
    """What /pypi/<project>/json describes: newest non-yanked final, else non-yanked
    pre-release, else yanked (finals first)."""
    return _pick(releases, stability=True)


class DescribedRelease(Release, Protocol):
    @property
    def info(self) -> Any: ...  # the release's own info when pkgdex has it, else None


D = TypeVar("D", bound=DescribedRelease)


def pick_described(releases: Sequence[D], described: str | None = None) -> D | None:
    """The release ``/pypi/<project>/json`` describes: ``pick_latest``'s, or among spellings
    of that version ("3.0" and "3.0.0", equal in PEP 440) the one the upstream's project
    document ``described``, else the one with its own info (pkgdex keeps the described
    release's). pypi.org's choice among equal spellings cannot be worked out from the
    versions alone."""
    chosen = pick_latest(releases)
    if chosen is None:
        return None
    if described is not None and described != chosen.version:
        named = next((r for r in releases if r.version == described), None)
        if named is not None and is_twin(chosen.version, chosen.yanked, described, named.yanked):
            return named
    if chosen.info is not None:
        return chosen
    known = [(r.version, r.yanked) for r in releases if r.info is not None]
    twin = spelling_with_info(chosen.version, chosen.yanked, known)
    return chosen if twin is None else next(r for r in releases if r.version == twin)


def is_twin(version: str, yanked: bool, other: str, other_yanked: bool) -> bool:
    """Whether ``other`` spells ``version`` otherwise ("3.0" and "3.0.0") and is as yanked, so
    that ``pick_latest`` could have chosen either."""
    return yanked == other_yanked and canonical_version(version) == canonical_version(other)


def spelling_with_info(version: str, yanked: bool, known: Iterable[tuple[str, bool]]) -> str | None:
    """Of the releases with their own info (``known``: version, yanked), the spelling of
    ``version`` as ``pick_latest`` would order them (the text decides), or None."""
    twins = [v for v, gone in known if is_twin(version, yanked, v, gone)]
    return max(twins) if twins else None


def pick_latest_version(yanked: Mapping[str, bool]) -> str | None:
    """``pick_latest`` of versions given with whether each is yanked. A miss's answer takes
    this: no object per release (choosing among 500 releases took 0.7 ms through
    ``pick_latest``), and release numbers alone are ordered in bulk (``_newest_plain``)."""
    live = [version for version, gone in yanked.items() if not gone]
    pool = live or list(yanked)
    plain = _newest_plain(pool)
    if plain is None:
        return max(pool, key=_ranked, default=None)
    best, plains = plain
    if len(plains) == len(pool):
        return best
    # ``best`` is a final release, which ranks above every pre-release: the pre-releases
    # among the rest are passed over unparsed (parsing each cost 5-10 us, a fifth of choosing
    # among 500 releases with 20 release candidates).
    rivals = list(filterfalse(_plain_prerelease, set(pool).difference(plains)))
    if not rivals:
        return best
    return max(best, max(rivals, key=_ranked), key=_ranked)


# Release numbers alone, one per line, and the first number of each.
_plain_lines = re.compile(rf"^{_PLAIN}$", re.MULTILINE).findall
_first_numbers = re.compile(r"^[0-9]+", re.MULTILINE).findall
_split_dots = methodcaller("split", ".")
_ints = partial(map, int)


def _newest_plain(versions: list[str]) -> tuple[str, list[str]] | None:
    """The newest of the release numbers alone among ``versions``, and all of them (None for
    none): a final release, so only other finals can be newer. Ordered with C calls only;
    the versions of a project seldom repeat across projects, so ``_ranked``'s cache missed
    on each and cost 2-4 us a version.

    Only the versions with the highest first number can be the newest, so only theirs are
    made into tuples of numbers (a project's releases mostly differ there, and making every
    version's tuple was most of the cost). Their digits are compared with trailing zeros
    kept, which orders them as PEP 440 does except among spellings of one version ("1.0" and
    "1.00"): those are the keys at least the newest one's without its trailing zeros, and
    among them the text decides, as ``_plain_key`` and ``_sortable`` do. Every such spelling
    shares the newest one's first number (or all are zeros)."""
    joined = "\n".join(versions)
    if joined.count("\n") != len(versions) - 1:  # a newline inside a version: no lines
        return None
    plain = _plain_lines(joined)
    if not plain:
        return None
    firsts = list(map(int, _first_numbers("\n".join(plain))))
    rivals = list(compress(plain, map(max(firsts).__eq__, firsts)))
    keys = list(map(tuple, map(_ints, map(_split_dots, rivals))))
    newest_key, newest = max(zip(keys, rivals, strict=True))
    spellings = list(compress(rivals, map(_significant(newest_key).__le__, keys)))
    return (newest if len(spellings) == 1 else max(spellings)), plain


def pick_latest_stable(releases: Sequence[R]) -> R | None:
    """The newest final release (a yanked one only when every final is yanked)."""
    return _pick((r for r in releases if not is_prerelease(r.version)), stability=False)


def pick_latest_unstable(releases: Sequence[R]) -> R | None:
    """The newest release of any kind (a yanked one only when every release is yanked)."""
    return _pick(releases, stability=False)


def find_version(releases: Sequence[R], wanted: str) -> R | None:
    """The release ``wanted`` names in normalised form ("3.0" finds "3.0.0"); when several
    releases normalise alike, only the exact spelling matches (as pypi.org does)."""
    target = canonical_version(wanted)
    matches = [r for r in releases if canonical_version(r.version) == target]
    if len(matches) == 1:
        return matches[0]
    return next((r for r in matches if r.version == wanted), None)


@lru_cache(maxsize=65536)
def canonical_version(version: str) -> str:
    """``version`` in the form two spellings of one version share ("3.0" and "3.0.0")."""
    try:
        return canonicalize_version(version)
    except ValueError:  # a number past the 4,300 digits int() reads: matches only itself
        return version
