"""Search keys and registry URLs: how a package name is compared and linked per ecosystem."""

from __future__ import annotations

import re

ECOSYSTEMS = ("pypi", "npm")
SEPARATORS = re.compile(r"[-_.]+")
URL_TEMPLATES = {
    "pypi": "https://pypi.org/project/{}/",
    "npm": "https://www.npmjs.com/package/{}",
}
# Ends every key in the trigram index, so a 2-character query that ends a name still has a
# trigram to find it by ("xy" + END); names never contain control characters.
END = "\x03"
KEY_MAX = "\U0010ffff"  # sorts after every character: key range [q, q + KEY_MAX) = prefix q


def search_key(ecosystem: str, name: str) -> str:
    """The form names are matched and ordered by: PEP 503-normalised for PyPI, lowercase else."""
    if ecosystem == "pypi":
        return SEPARATORS.sub("-", name).lower()
    return name.lower()


def package_url(ecosystem: str, name: str) -> str:
    return URL_TEMPLATES[ecosystem].format(name)


def check_ecosystem(ecosystem: str) -> str:
    if ecosystem not in ECOSYSTEMS:
        raise ValueError(f"unknown ecosystem {ecosystem!r}; expected one of {ECOSYSTEMS}")
    return ecosystem
