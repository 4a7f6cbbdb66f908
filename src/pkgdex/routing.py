"""Route registration shared by the compatible surfaces: registries answer HEAD wherever they
answer GET (clients probe with it), the OpenAPI document lists each operation once, and a
surface's catch-all route takes every path left under its prefix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from starlette.convertors import PathConvertor, register_url_convertor

Handler = TypeVar("Handler", bound=Callable[..., Any])


def get_and_head(router: APIRouter) -> Callable[..., Callable[[Handler], Handler]]:
    """A ``router.get`` that also answers HEAD on the path, documenting only the GET."""

    def get(path: str, *, documented: bool = True) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            router.api_route(path, methods=["GET"], include_in_schema=documented)(handler)
            router.api_route(path, methods=["HEAD"], include_in_schema=False)(handler)
            return handler

        return register

    return get


class RestOfPathConvertor(PathConvertor):
    """The rest of a path, whatever it holds: Starlette's ``path`` is ``.*``, whose ``.`` stops
    at a newline, so a path with ``%0A`` in it slipped past a catch-all to the app's own 404."""

    regex = "(?s:.*)"


register_url_convertor("rest", RestOfPathConvertor())


def rest_of_path(name: str) -> str:
    """The path template of parameter ``name`` taking the rest of the path."""
    return "{" + name + ":rest}"
