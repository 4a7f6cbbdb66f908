"""Chart drawing and the bounded chart cache."""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import pytest

from pkgdex.downloads.charts import ChartCache, render_png


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def chart(chart_type: str, days: int = 30, datasets: int = 3) -> dict[str, Any]:
    labels = [(dt.date(2026, 9, 1) + dt.timedelta(days=i)).isoformat() for i in range(days)]
    return {
        "title": "numpy — Downloads by operating system",
        "chartType": chart_type,
        "labels": labels,
        "datasets": [
            {"label": f"c{k}", "data": [k * 10 + i for i in range(days)], "borderColor": "#123456"}
            for k in range(datasets)
        ],
    }


@pytest.mark.parametrize("chart_type", ["line", "bar"])
@pytest.mark.parametrize(("width", "height"), [(1200, 600), (300, 200), (800, 450)])
def test_png_has_the_requested_size(chart_type: str, width: int, height: int) -> None:
    assert png_size(render_png(chart(chart_type), width, height)) == (width, height)


def test_line_and_bar_differ() -> None:
    assert render_png(chart("line"), 600, 300) != render_png(chart("bar"), 600, 300)


def test_single_day_and_all_zero_values_still_draw() -> None:
    one = chart("bar", days=1, datasets=1)
    one["datasets"][0]["data"] = [0]
    assert png_size(render_png(one, 400, 300)) == (400, 300)


def test_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    cache = ChartCache(2)
    cache.put(("a",), b"A")
    cache.put(("b",), b"B")
    assert cache.get(("a",)) == b"A"  # a is now the most recent
    cache.put(("c",), b"C")
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == b"A" and cache.get(("c",)) == b"C"
    assert len(cache) == 2


def test_cache_of_size_zero_keeps_nothing() -> None:
    cache = ChartCache(0)
    cache.put(("a",), b"A")
    assert cache.get(("a",)) is None and len(cache) == 0
