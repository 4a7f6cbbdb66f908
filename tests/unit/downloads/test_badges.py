"""Badge text, colours and SVG structure."""

from __future__ import annotations

# The parsed SVG is pkgdex's own output, not untrusted input.
import xml.etree.ElementTree as ET

import pytest

from pkgdex.downloads.badges import Badge, color_for, metric, render_svg, text_width

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1k"),
        (1234, "1.2k"),
        (12_345, "12k"),
        (999_499, "999k"),
        (1_234_567, "1.2M"),
        (45_000_000, "45M"),
        (3_100_000_000, "3.1G"),
    ],
)
def test_metric(n: int, text: str) -> None:
    assert metric(n) == text


def test_colours_follow_the_downloads_scale() -> None:
    assert color_for(0) == "#e05d44"
    assert color_for(50) == "#dfb317"
    assert color_for(500) == "#a4a61d"
    assert color_for(5000) == "#97ca00"
    assert color_for(5_000_000) == "#4c1"


def test_svg_is_well_formed_and_sized_by_its_text() -> None:
    short = ET.fromstring(render_svg(Badge("downloads", "1k/day", "#4c1")))  # noqa: S314
    long = ET.fromstring(render_svg(Badge("downloads", "123M/month", "#4c1")))  # noqa: S314
    assert short.tag == f"{SVG}svg" and short.get("height") == "20"
    assert int(long.get("width", "0")) > int(short.get("width", "0"))
    title = short.find(f"{SVG}title")
    assert title is not None and title.text == "downloads: 1k/day"
    texts = [t.text for t in short.iter(f"{SVG}text")]
    assert texts == ["downloads", "downloads", "1k/day", "1k/day"]


def test_text_is_escaped() -> None:
    svg = render_svg(Badge("a<b>&", 'x"y', "#555"))
    root = ET.fromstring(svg)  # noqa: S314
    assert "<b>" not in svg
    assert next(t.text for t in root.iter(f"{SVG}text")) == "a<b>&"


def test_wider_letters_measure_wider() -> None:
    assert text_width("mmmm") > text_width("iiii")
