"""The route class every service router uses: callers checked first, bodies valid Unicode.

A route that takes a body and needs an authenticated caller checks the caller *before* the
body is read: an anonymous call to an admin route gets its 401 (a customer's, its 403) without
the server reading, parsing or validating what it sent. FastAPI on its own reads and parses the
body first (a malformed one was a 422 before any credential was looked at).

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
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from shopkit_server.deps import LEVELS, Level, authenticate_early


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


def _auth_level(dependant: Dependant) -> Level | None:
    """The strongest caller check among a route's dependencies (searched recursively)."""
    found: Level | None = None
    for sub in dependant.dependencies:
        for level in (LEVELS.get(sub.call) if sub.call else None, _auth_level(sub)):
            if level is not None and (found is None or level > found):
                found = level
    return found


class ShopRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        early = _auth_level(self.dependant) if self.body_field is not None else None

        async def checked(request: Request) -> Response:
            if early is not None:
                await authenticate_early(request, early)
            return await handler(_UnicodeCheckedRequest(request.scope, request.receive))

        return checked
