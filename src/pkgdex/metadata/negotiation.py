"""Which form of the Simple API a request gets: PEP 691's content negotiation, with
``?format=`` first, as pypi.org answers it."""

from __future__ import annotations

HTML = "text/html"
V1_HTML = "application/vnd.pypi.simple.v1+html"
V1_JSON = "application/vnd.pypi.simple.v1+json"
OFFERS = (HTML, V1_HTML, V1_JSON)
# PEP 691's meta-version: "latest" names the newest version of the API the server has.
LATEST = {
    "application/vnd.pypi.simple.latest+html": V1_HTML,
    "application/vnd.pypi.simple.latest+json": V1_JSON,
}
FORMATS = {"html": HTML, "json": V1_JSON, **{offer: offer for offer in OFFERS}, **LATEST}


class NotAcceptableError(ValueError):
    """A ``?format=`` that names no format pkgdex serves."""


def choose_format(accept: str | None, requested: str | None) -> str:
    """The content type to answer with: ``?format=`` first (an unknown one is refused), then
    ``Accept`` (q-values); HTML when the client states no preference or accepts none of the
    offers, as pypi.org answers (PEP 691 lets a server refuse those instead, and a client
    that works against pypi.org would then fail here)."""
    if requested is not None:
        chosen = FORMATS.get(requested.strip().lower())
        if chosen is None:
            raise NotAcceptableError(f"unknown format {requested!r}")
        return chosen
    if not accept or not accept.strip():
        return HTML
    best: tuple[float, int] | None = None
    chosen_type = None
    for position, offer in enumerate(OFFERS):
        quality = _quality(accept, offer)
        if quality > 0 and (best is None or (quality, -position) > best):
            best, chosen_type = (quality, -position), offer
    return HTML if chosen_type is None else chosen_type


def _quality(accept: str, offer: str) -> float:
    """The q-value ``accept`` gives ``offer``, the most specific matching range winning."""
    offer_type, offer_sub = offer.split("/")
    best_specificity, best_q = -1, 0.0
    for item in accept.split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        kind, _, sub = LATEST.get(media, media).partition("/")
        if kind == "*" and sub in ("*", ""):
            specificity = 0
        elif kind == offer_type and sub == "*":
            specificity = 1
        elif (kind, sub) == (offer_type, offer_sub):
            specificity = 2
        else:
            continue
        if specificity > best_specificity:
            best_specificity, best_q = specificity, _q(params)
    return best_q


def _q(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0
