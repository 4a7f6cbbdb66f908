"""How names are compared and linked per ecosystem."""

from __future__ import annotations

import pytest

from pkgdex.index.keys import check_ecosystem, package_url, search_key


@pytest.mark.parametrize(
    ("name", "key"),
    [("Zope.Interface", "zope-interface"), ("a__b-.c", "a-b-c"), ("Django", "django")],
)
def test_pypi_keys_are_pep503_normalised(name: str, key: str) -> None:
    assert search_key("pypi", name) == key


def test_npm_keys_only_fold_case() -> None:
    assert search_key("npm", "React.DOM_x") == "react.dom_x"
    assert search_key("npm", "@Types/Node") == "@types/node"


def test_registry_urls() -> None:
    assert package_url("pypi", "zope.interface") == "https://pypi.org/project/zope.interface/"
    assert package_url("npm", "@types/node") == "https://www.npmjs.com/package/@types/node"


def test_unknown_ecosystem_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown ecosystem"):
        check_ecosystem("cargo")
