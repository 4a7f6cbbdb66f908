"""Hostile HTTP inputs for the route fuzz test: the routes an app serves, and strategies for
what a client may send them (path segments, query strings, headers, bodies).

Values mix the data the demo database holds (so requests reach the code behind a found
package, not only its not-found answer) with text that has broken parsers before: percent
escapes, NUL and control characters, dot segments, huge numbers, very long names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, params
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from hypothesis import strategies as st
from starlette.convertors import Convertor, PathConvertor

# Names, versions and values the demo database (pkgdex.demo) and the routes know.
KNOWN_VALUES = (
    "pkgdex-demo", "Demo.Project_Name", "demo-project-name", "demo-prerelease-only",
    "@pkgdex", "demo", "@pkgdex/demo", "is-odd", "left-pad", "numpy", "boto3", "requests",
    "__all__", "1.0.0", "1.1.0", "2.0.0rc1", "3.0", "0.1a1", "latest", "latest-stable",
    "latest-unstable", "day", "week", "month", "overall", "python_major", "python_minor",
    "system", "installer", "version", "png", "json", "data", "line", "bar", "true", "false",
    "2024-01-01", "2099-12-31", "1", "10", "300", "1200", "is-odd-3.0.1.tgz", "-",
    "application/vnd.pypi.simple.v1+json", "text/html",
)  # fmt: skip
HOSTILE_VALUES = (
    "", " ", ".", "..", "../..", "./", "%2f", "%2F..%2F", "%00", "\x00", "a\x00b", "%", "%zz",
    "%ff", "%c0%af", "%u002e", "%0A", "a%0Ab", "a\nb", "\t", "\r\n", "\x7f", "\u202e",
    "\ufeff", "名前", "😀",
    "1e400", "-1e400", "-0", "-1", "0", "00", "1.0e5", "NaN", "inf", "-inf", "9" * 400,
    str(2**63), str(-(2**63) - 1), "0x10", "１２", "٣", "²", "@", "@/", "@@", "@x/", "~",
    "-/", "/", "//", "\\", "?", "#", "&", "=", ";", "'", '"', "<script>", "{}", "[]", "null",
    "a" * 300, "a" * 5000, "x.tgz", ".tgz", "-.tgz", "a..b", "a--b", "__proto__",
    "constructor", "*", ",", "W/", "1.0.0-", "1.0.0+local", "v1", "1!2.0", "1.0.dev-1",
)  # fmt: skip


def hostile_text() -> st.SearchStrategy[str]:
    """One value a client may put anywhere: known data, crafted trouble, or any text."""
    return st.one_of(
        st.sampled_from(KNOWN_VALUES),
        st.sampled_from(HOSTILE_VALUES),
        st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
        st.text(st.sampled_from("%2fF0e.-_@/\\+ :\x00\x7f"), max_size=12),
        st.integers().map(str),
        st.floats().map(repr),
    )


@dataclass(frozen=True)
class RouteShape:
    """One path template of the app, with what it declares: methods, parameters."""

    path: str
    methods: tuple[str, ...]
    path_params: tuple[str, ...]
    any_path_params: frozenset[str]  # ``{name:path}``: may span segments
    query_params: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{'/'.join(self.methods)} {self.path}"


def route_shapes(app: FastAPI) -> list[RouteShape]:
    """Every path template ``app`` routes, once, with the union of what its routes declare
    (a plain route ahead of a FastAPI route on the same path declares nothing itself)."""
    by_path: dict[str, list[RouteContext]] = {}
    for context in iter_route_contexts(app.routes):
        if context.path_format is not None and context.methods:
            by_path.setdefault(context.path_format, []).append(context)
    return [_shape(path, contexts) for path, contexts in sorted(by_path.items())]


def _shape(path: str, contexts: Iterable[RouteContext]) -> RouteShape:
    methods: set[str] = set()
    query: set[str] = set()
    convertors: dict[str, Convertor[Any]] = {}
    for context in contexts:
        methods |= context.methods or set()
        convertors.update(context.param_convertors)
        if isinstance(context.original_route, APIRoute):
            query |= _declared_query(context.original_route)
    return RouteShape(
        path=path,
        methods=tuple(sorted(methods)),
        path_params=tuple(convertors),
        any_path_params=frozenset(
            name for name, conv in convertors.items() if isinstance(conv, PathConvertor)
        ),
        query_params=tuple(sorted(query)),
    )


def _declared_query(route: APIRoute) -> set[str]:
    fields = get_flat_params(route.dependant)
    return {field.alias for field in fields if isinstance(field.field_info, params.Query)}


# Names some surfaces read from the query string without declaring them (npm's search), the
# names other routes declare, and junk.
OTHER_QUERY_NAMES = (
    "text", "size", "from", "quality", "popularity", "maintenance", "q", "limit", "page",
    "format", "package", "start", "end", "ci", "", "x", "q[]", "__proto__", "%00", "a b",
)  # fmt: skip
RAW_QUERY_TAILS = ("", "&", "=&=", "%", "%zz", "a=%ff%fe", "q=%00", "format=%ZZ", "&&&x")


@st.composite
def query_string(draw: st.DrawFn, shape: RouteShape) -> str:
    """Declared and junk parameters (repeats included), percent-encoded, and sometimes a tail
    whose escapes are broken on purpose."""
    names = st.sampled_from(shape.query_params + OTHER_QUERY_NAMES)
    pairs = draw(st.lists(st.tuples(names, hostile_text()), max_size=5))
    encoded = "&".join(f"{quote(n, safe='')}={quote(v, safe='')}" for n, v in pairs)
    tail = draw(st.sampled_from(RAW_QUERY_TAILS))
    return "&".join(part for part in (encoded, tail) if part)


@st.composite
def path_for(draw: st.DrawFn, shape: RouteShape) -> str:
    """``shape``'s path with every parameter filled: escaped whole (so it stays the one
    parameter) or with its slashes and percent escapes left as they are, as npm sends a
    scoped name (``@scope%2fname``)."""
    path = shape.path
    for name in shape.path_params:
        value = draw(hostile_text())
        raw = draw(st.booleans()) or name in shape.any_path_params
        segment = quote(value, safe="/%@:+!$&'()*,;=~") if raw else quote(value, safe="")
        path = path.replace("{" + name + "}", segment, 1)
    return path


HEADER_SAMPLES: dict[str, tuple[str, ...]] = {
    "Accept": (
        "*/*", "application/json", "application/vnd.npm.install-v1+json",
        "application/vnd.npm.install-v1+json; q=0", "application/vnd.npm.install-v1+json;q=x",
        "application/vnd.pypi.simple.v1+json", "application/vnd.pypi.simple.v1+html;q=0.2",
        "application/vnd.pypi.simple.latest+json", "text/html;q=1e400", "text/*;q=-1",
        "*/*;q=0", "image/png", ";;;", ",", "text/html;level", "a/b;q=0.5;q=0.6",
    ),
    "Accept-Encoding": (
        "gzip", "gzip;q=0", "gzip;q=0.000", "gzip; q=x", "br, gzip;q=1e400", "identity;q=0",
        "*", "*;q=0", ",,,", "gzip;;",
    ),
    "If-None-Match": (
        "*", '"x"', 'W/"x"', "W/", '""', ",", '"a", "b"', '*, "x"', "W/*", '"' * 5,
    ),
    "If-Modified-Since": (
        "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 99 Foo 99999 99:99:99 GMT", "0", "-1", "yesterday", "2024-01-01T00:00:00Z",
    ),
    "Range": (
        "bytes=0-", "bytes=-1", "bytes=5-1", "bytes=0-0,1-1", "bytes=99999999999999999999-",
        "items=1-2", "bytes=", "bytes=a-b",
    ),
    "X-Bypass-Token": (
        "", ":", "1:abc", "²:abc", "9" * 5000 + ":a", "99999999999:é", "99999999999:" + "0" * 64,
    ),
    "X-Forwarded-For": ("1.2.3.4", "1.2.3.4, 127.0.0.1", "::1, fe80::1%eth0", ",,", "é, 10.0.0.1"),
    "X-Real-IP": ("1.2.3.4", "not an address"),
    "Forwarded": ("for=1.2.3.4;proto=https", 'for="[::1]"', ";;"),
    "X-Request-ID": ("abc", "x" * 65, "é", "\t"),
    "Content-Type": (
        "application/json", "application/x-www-form-urlencoded", "multipart/form-data",
        "multipart/form-data; boundary=", "text/plain; charset=nope",
    ),
}  # fmt: skip

# A header value as a server receives it: latin-1 bytes without CR, LF or NUL (which the
# HTTP parser in front of the app refuses), tabs included.
HEADER_BYTES = st.binary(max_size=40).map(
    lambda raw: bytes(b for b in raw if b == 9 or (b >= 32 and b != 127))
)


@st.composite
def headers(draw: st.DrawFn) -> dict[bytes, bytes]:
    names = draw(st.lists(st.sampled_from(sorted(HEADER_SAMPLES)), unique=True, max_size=4))
    samples = {name: st.sampled_from(HEADER_SAMPLES[name]).map(_latin1) for name in names}
    return {name.encode(): draw(st.one_of(samples[name], HEADER_BYTES)) for name in names}


def _latin1(text: str) -> bytes:
    return text.encode("latin-1")


BODIES = st.one_of(st.just(b""), st.binary(max_size=64), st.sampled_from([b"{}", b"[", b"\x00"]))


@dataclass(frozen=True)
class HostileRequest:
    method: str
    url: str
    headers: dict[bytes, bytes]
    body: bytes


@st.composite
def hostile_request(draw: st.DrawFn, shape: RouteShape) -> HostileRequest:
    path = draw(path_for(shape))
    query = draw(query_string(shape))
    return HostileRequest(
        method=draw(st.sampled_from(shape.methods)),
        url=f"{path}?{query}" if query else path,
        headers=draw(headers()),
        body=draw(BODIES),
    )
