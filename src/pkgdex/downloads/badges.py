"""SVG download badges in shields.io's flat style: ``downloads | 1.2M/month``.

Text widths come from a table of Verdana 11px advances (the font shields.io measures with),
so badges line up like the ones READMEs already show.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from sqlalchemy import Connection

from pkgdex.downloads import queries
from pkgdex.downloads.params import StatsQuery

PERIOD_SUFFIX = {"day": "/day", "week": "/week", "month": "/month"}
PREFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))
# shields.io's downloads colour scale: thresholds and colours above each.
COLOR_STEPS = ((10_000, "#4c1"), (1_000, "#97ca00"), (100, "#a4a61d"), (10, "#dfb317"))
RED, GREY, LABEL_GREY = "#e05d44", "#9f9f9f", "#555"
NARROW, WIDE = frozenset("fijlrt.,:;!'|()[] /"), frozenset("mwMW%@")
HORIZONTAL_PADDING = 10


@dataclass(frozen=True)
class Badge:
    label: str
    message: str
    color: str
    status: int = 200


def metric(n: int) -> str:
    """1234 -> 1.2k, 12345 -> 12k, 1234567 -> 1.2M (shields.io's metric notation)."""
    for limit, prefix in PREFIXES:
        if n >= limit:
            scaled = n / limit
            text = f"{scaled:.1f}" if scaled < 10 else f"{round(scaled)}"
            return text.removesuffix(".0") + prefix
    return str(n)


def color_for(n: int) -> str:
    for threshold, color in COLOR_STEPS:
        if n >= threshold:
            return color
    return RED


def text_width(text: str) -> float:
    """Approximate width in pixels of ``text`` in Verdana 11px."""
    width = 0.0
    for char in text:
        if char in NARROW:
            width += 3.9
        elif char in WIDE:
            width += 10.0
        elif char.isupper() or char.isdigit():
            width += 7.3
        else:
            width += 6.6
    return width


def downloads_badge(conn: Connection, q: StatsQuery, period: str) -> Badge:
    """The badge of ``q.package`` for the latest day, week or month (mirrors excluded)."""
    label = "downloads (synthetic)" if q.freshness.synthetic else "downloads"
    recent = queries.recent(conn, q.package, ci=q.ci)
    if recent is None:
        return Badge(label, "package not found", GREY, status=404)
    count = recent[queries.RECENT_COLUMNS[period]]
    return Badge(label, metric(count) + PERIOD_SUFFIX[period], color_for(count))


def render_svg(badge: Badge) -> str:
    """The flat-style SVG of ``badge``; text is escaped, widths follow the text."""
    quotes = {'"': "&quot;"}  # the text also goes into attributes
    label, message = escape(badge.label, quotes), escape(badge.message, quotes)
    left = round(text_width(badge.label) + HORIZONTAL_PADDING)
    right = round(text_width(badge.message) + HORIZONTAL_PADDING)
    total = left + right
    label_x, message_x = left * 5, (left + right / 2) * 10
    label_len = round(text_width(badge.label) * 10)
    message_len = round(text_width(badge.message) * 10)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{label}: {message}"><title>{label}: {message}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="{LABEL_GREY}"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{badge.color}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">'
        f'<text aria-hidden="true" x="{label_x:.0f}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{label_len}">{label}</text>'
        f'<text x="{label_x:.0f}" y="140" transform="scale(.1)" fill="#fff" '
        f'textLength="{label_len}">{label}</text>'
        f'<text aria-hidden="true" x="{message_x:.0f}" y="150" fill="#010101" '
        f'fill-opacity=".3" transform="scale(.1)" textLength="{message_len}">{message}</text>'
        f'<text x="{message_x:.0f}" y="140" transform="scale(.1)" fill="#fff" '
        f'textLength="{message_len}">{message}</text></g></svg>'
    )
