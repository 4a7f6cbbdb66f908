"""Download charts: Chart.js-ready JSON and PNG images drawn with matplotlib (Agg).

Rendering costs tens of milliseconds, so PNGs are kept in a bounded LRU cache per app. The key
holds everything that changes the picture, including the data's as-of day, so a new ingest
never serves a stale image; ``nocache=1`` / ``cache=false`` bypass it.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from pkgdex.downloads import compat
from pkgdex.downloads.badges import metric
from pkgdex.downloads.params import StatsQuery

CHART_KINDS = ("overall", "python_major", "python_minor", "system", "installer", "version")
TITLES = {
    "overall": "Overall downloads (with/without mirrors)",
    "python_major": "Downloads by Python major version",
    "python_minor": "Downloads by Python minor version",
    "system": "Downloads by operating system",
    "installer": "Downloads by installer",
    "version": "Downloads by version",
}
PALETTE = (
    "#2563eb", "#d97706", "#059669", "#7c3aed", "#dc2626", "#0891b2", "#db2777", "#64748b",
)  # fmt: skip  (neighbours differ in hue, so two-series charts stay readable)
MAX_DATASETS = 12  # the rest are summed into "other categories" so the legend stays legible


@dataclass(frozen=True)
class ChartRequest:
    """What a chart shows and how; ``key`` (with the freshness) identifies the PNG."""

    kind: str
    chart_type: str
    category: str | None  # mirrors / version / os filter, already resolved to a category
    width: int
    height: int


def chart_json(conn: Connection, q: StatsQuery, request: ChartRequest) -> dict[str, Any]:
    """``{package, type, chartType, title, labels, datasets}`` as pypistats.dev answers."""
    rows = compat.category_rows(compat.points(conn, q, request.kind, _categories(request)))
    if not rows:
        raise compat.not_found(q)
    labels = sorted({row["date"] for row in rows})
    series: dict[str, dict[str, int]] = {}
    for row in rows:
        series.setdefault(row["category"], {})[row["date"]] = row["downloads"]
    datasets = [
        {
            "label": label,
            "data": [values.get(day, 0) for day in labels],
            "borderColor": PALETTE[i % len(PALETTE)],
            "backgroundColor": PALETTE[i % len(PALETTE)] + "33",
            "fill": request.chart_type == "line",
        }
        for i, (label, values) in enumerate(_largest_first(series))
    ]
    title = f"{q.package} — {TITLES[request.kind]}"
    if q.freshness.synthetic:
        title += " (synthetic data)"
    return {
        "package": q.package,
        "type": request.kind,
        "chartType": request.chart_type,
        "title": title,
        "labels": labels,
        "datasets": datasets,
        **compat.extended_fields(q),
    }


def _categories(request: ChartRequest) -> list[str] | None:
    return None if request.category is None else [request.category]


def _largest_first(series: dict[str, dict[str, int]]) -> list[tuple[str, dict[str, int]]]:
    ordered = sorted(series.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    if len(ordered) <= MAX_DATASETS:
        return ordered
    rest: dict[str, int] = {}
    for _, values in ordered[MAX_DATASETS - 1 :]:
        for day, n in values.items():
            rest[day] = rest.get(day, 0) + n
    return [*ordered[: MAX_DATASETS - 1], ("other categories", rest)]


def render_png(chart: dict[str, Any], width: int, height: int) -> bytes:
    """Draw ``chart`` (the JSON form) as a ``width`` x ``height`` PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.08, 0.2, 0.9, 0.72))
    positions = list(range(len(chart["labels"])))
    if chart["chartType"] == "bar":
        _stacked_bars(axes, chart["datasets"], len(positions))
    else:
        for dataset in chart["datasets"]:
            axes.plot(positions, dataset["data"], color=dataset["borderColor"],
                      label=dataset["label"], linewidth=1.5)  # fmt: skip
    # Few ticks and a figure-level title: tick objects and the title's automatic placement
    # were most of the drawing time.
    step = max(1, -(-len(positions) // 8))
    axes.set_xticks(positions[::step], [chart["labels"][i] for i in positions[::step]])
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=6))
    axes.yaxis.set_major_formatter(_compact)
    figure.text(0.5, 0.95, chart["title"], ha="center", fontsize=12)
    axes.set_xlabel("Date")
    axes.set_ylabel("Downloads")
    axes.grid(axis="y", alpha=0.3)
    columns = min(6, max(1, len(chart["datasets"])))
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=columns, frameon=False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


def _stacked_bars(axes: Any, datasets: list[dict[str, Any]], days: int) -> None:
    """Stacked bars, one PolyCollection per dataset: a rectangle artist per day per category
    made a 180-day chart take a second."""
    import numpy as np
    from matplotlib.collections import PolyCollection

    x = np.arange(days, dtype=float)
    left, right = x - 0.42, x + 0.42
    bottom = np.zeros(days)
    for dataset in datasets:
        top = bottom + np.asarray(dataset["data"], dtype=float)
        corners = [(left, bottom), (left, top), (right, top), (right, bottom)]
        vertices = list(np.stack([np.stack(corner, axis=1) for corner in corners], axis=1))
        bars = PolyCollection(vertices, facecolors=dataset["borderColor"], antialiaseds=False,
                              label=dataset["label"])  # fmt: skip
        axes.add_collection(bars)
        bottom = top
    axes.set_xlim(-1, days)
    axes.set_ylim(0, max(1.0, float(bottom.max(initial=0)) * 1.05))


def _compact(value: float, _position: float) -> str:
    """Axis labels as badges write numbers (2.5M): long digit strings pushed the axis title
    off a 1200-pixel-wide chart."""
    return metric(round(value))


class ChartCache:
    """A bounded LRU of rendered PNGs; one lock also serialises matplotlib, which is not
    thread-safe, across the server's worker threads."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.render_lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[object, ...], png: bytes) -> None:
        if self.entries <= 0:
            return
        with self._lock:
            self._items[key] = png
            self._items.move_to_end(key)
            while len(self._items) > self.entries:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def cache_key(q: StatsQuery, request: ChartRequest) -> tuple[object, ...]:
    """Everything that changes the picture, the data's as-of day included."""
    return (q.package, q.window, q.ci, q.freshness, request)


def render_to_cache(
    chart: dict[str, Any], request: ChartRequest, cache: ChartCache, key: tuple[object, ...] | None
) -> bytes:
    """Draw ``chart`` (one drawing at a time) and keep it under ``key`` unless that is None."""
    with cache.render_lock:
        png = render_png(chart, request.width, request.height)
    if key is not None:
        cache.put(key, png)
    return png
