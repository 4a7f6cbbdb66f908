"""Route registration shared by the compatible surfaces: registries answer HEAD wherever they
answer GET (clients probe with it), and the OpenAPI document lists each operation once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter

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
