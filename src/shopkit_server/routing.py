"""The route class every service router uses: JSON in and out through ``wire``.

- A request body is parsed by :func:`shopkit_server.wire.loads`: numbers with a fraction are exact
  ``Decimal``; lone UTF-16 surrogates (which no database driver can store and no client can
  decode), ``NaN``/``Infinity`` and bytes that are not UTF-8 are refused at the edge with
  FastAPI's own 422 shape (``json_invalid``) instead of failing later, deep in a store, as a 500.
- A reply is rendered with money written from its exact decimal text as a JSON number
  (:func:`shopkit_server.wire.write_exact`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from shopkit_server import wire


class _ExactJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # FastAPI turns a JSONDecodeError into its usual 422 (type "json_invalid").
            self._json = wire.loads(await self.body())
        return self._json


class ShopRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            with wire.exact_numbers() as marker:
                response = await handler(_ExactJSONRequest(request.scope, request.receive))
            body = getattr(response, "body", None)
            if isinstance(body, bytes):
                exact_body = wire.write_exact(body, marker)
                if exact_body is not body:
                    response.body = exact_body
                    response.headers["content-length"] = str(len(exact_body))
            return response

        return exact
