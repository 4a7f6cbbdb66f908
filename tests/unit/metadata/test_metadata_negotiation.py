"""PEP 691 content negotiation and If-None-Match matching."""

from __future__ import annotations

import pytest

from pkgdex.metadata.negotiation import HTML, V1_HTML, V1_JSON, NotAcceptableError, choose_format
from pkgdex.metadata.responses import etag_matches


@pytest.mark.parametrize(
    ("accept", "requested", "expected"),
    [
        (None, None, HTML),
        ("", None, HTML),
        ("*/*", None, HTML),
        (V1_JSON, None, V1_JSON),
        (f"{V1_JSON};q=0.9, {V1_HTML};q=0.5, text/html;q=0.01", None, V1_JSON),
        (f"{V1_JSON};q=0.1, {V1_HTML};q=0.5", None, V1_HTML),
        ("application/*;q=0.5, text/html;q=0.4", None, V1_HTML),
        ("TEXT/HTML", None, HTML),
        ("text/html;q=bad, application/vnd.pypi.simple.v1+json", None, V1_JSON),
        ("application/xml", "json", V1_JSON),
        (None, " HTML ", HTML),
        (None, V1_HTML, V1_HTML),
        # PEP 691's meta-version, answered with the version it stands for.
        ("application/vnd.pypi.simple.latest+json", None, V1_JSON),
        ("application/vnd.pypi.simple.latest+html", None, V1_HTML),
        ("application/vnd.pypi.simple.latest+json;q=0.2, text/html;q=0.1", None, V1_JSON),
        (None, "application/vnd.pypi.simple.latest+json", V1_JSON),
    ],
)
def test_choose_format(accept: str | None, requested: str | None, expected: str) -> None:
    assert choose_format(accept, requested) == expected


@pytest.mark.parametrize("accept", ["application/json", "text/*;q=0", "*/*;q=0", "image/png"])
def test_accepting_none_of_the_offers_gets_html_as_from_pypi_org(accept: str) -> None:
    assert choose_format(accept, None) == HTML


@pytest.mark.parametrize("requested", ["xml", "yaml", ""])
def test_an_unknown_format_parameter_is_not_acceptable(requested: str) -> None:
    with pytest.raises(NotAcceptableError):
        choose_format(None, requested)


def test_specific_range_beats_wildcard() -> None:
    assert choose_format(f"*/*;q=1, text/html;q=0, {V1_HTML};q=0", None) == V1_JSON


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
    ],
)
def test_etag_matches(header: str | None, matches: bool) -> None:
    assert etag_matches(header, '"abc"') is matches
