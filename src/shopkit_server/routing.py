"""The route class every service router uses: JSON bodies must be valid Unicode.

Python's JSON parser accepts lone UTF-16 surrogates (``"\\ud800"``), which no database driver
can store and no client can decode; such a string would pass validation as a ``str`` and fail
later, deep in a store, as a 500 (or be stored and break every later read). Here a body that
contains one is refused at the edge with FastAPI's own 422 shape (``json_invalid``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from shopkit_server.errors import (
    ShopError,
    http_error_response,
    shop_error_response,
    validation_error_response,
)


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


class _UnicodeCheckedRequest(Request):
    async def json(self) -> Any:
        body = await super().json()
        if _has_lone_surrogate(body):
            # FastAPI turns a JSONDecodeError into its usual 422 (type "json_invalid").
            raise json.JSONDecodeError("lone surrogate: not valid Unicode text", "", 0)
        return body


class ShopRoute(APIRoute):
    """Also renders shopkit's errors itself, so a route keeps its ``{"detail", "code"}`` bodies
    (and never echoes a rejected input) when it is included in a host app with other handlers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            try:
                return await handler(_UnicodeCheckedRequest(request.scope, request.receive))
            except ShopError as exc:
                return shop_error_response(exc)
            except RequestValidationError as exc:
                return validation_error_response(exc)
            except StarletteHTTPException as exc:
                return http_error_response(exc)

        return checked
