"""The route class every service router uses: callers checked first, JSON through ``wire``.

A route that takes a body and needs an authenticated caller checks the caller *before* the
body is read: an anonymous call to an admin route gets its 401 (a customer's, its 403) without
the server reading, parsing or validating what it sent. FastAPI on its own reads and parses the
body first (a malformed one was a 422 before any credential was looked at).

- A request body is parsed by :func:`shopkit_server.wire.loads`: numbers with a fraction are exact
  ``Decimal``; lone UTF-16 surrogates (which no database driver can store and no client can
  decode), ``NaN``/``Infinity`` and bytes that are not UTF-8 are refused at the edge with
  FastAPI's own 422 shape (``json_invalid``) instead of failing later, deep in a store, as a 500.
- A reply is rendered with money written from its exact decimal text as a JSON number
  (:func:`shopkit_server.wire.write_exact`).
- Routers are :class:`ShopRouter`: a request whose path cannot be any of a router's routes is
  turned away by that router at once, instead of by each of its routes' patterns in turn.
- A public read registered with :func:`plain_read` answers a *plain* request (no query string,
  no ``Authorization`` header, no dependency overrides) without FastAPI's dependency solving:
  every parameter then has its default and the caller is anonymous, so the registered function
  computes the same reply directly. Dependency solving was about a fifth of a catalog read.
  A listing's plain read also takes anonymous requests with a query string: it reads the
  parameters in one pass and leaves any it does not read as plainly valid to FastAPI.
- Every other request is solved from the route's plan (:mod:`shopkit_server.solver`): the
  same validation and dependency calls as FastAPI's general solver, worked out once per route;
  a request the plan would not solve exactly as FastAPI does is left to FastAPI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, APIRouter, serialize_response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from shopkit_server import wire
from shopkit_server.deps import LEVELS, OWN_APP_SCOPE_KEY, Level, authenticate_early
from shopkit_server.errors import (
    ShopError,
    http_error_response,
    shop_error_response,
    store_unavailable_response,
    validation_error_response,
)
from shopkit_server.solver import built_route, compile_route
from shopkit_server.store.base import StoreUnreachable


class _ExactJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # FastAPI turns a JSONDecodeError into its usual 422 (type "json_invalid").
            self._json = wire.loads(await self.body())
        return self._json


def _auth_level(dependant: Dependant) -> Level | None:
    """The strongest caller check among a route's dependencies (searched recursively)."""
    found: Level | None = None
    for sub in dependant.dependencies:
        for level in (LEVELS.get(sub.call) if sub.call else None, _auth_level(sub)):
            if level is not None and (found is None or level > found):
                found = level
    return found


PlainRead = Callable[[Request], Awaitable[Any]]
# endpoint -> (its plain read, whether that also reads a query string)
_PLAIN_READS: dict[Callable[..., Any], tuple[PlainRead, bool]] = {}


# What a plain read registered with ``query_string=True`` returns for a request it leaves to
# FastAPI (a value it does not read as plainly valid, so FastAPI answers with its own 422).
class FallBack:
    """The type of :data:`FALL_BACK`."""


FALL_BACK = FallBack()


def plain_read(
    endpoint: Callable[..., Any], *, query_string: bool = False
) -> Callable[[PlainRead], PlainRead]:
    """Register what ``endpoint`` (a public GET route) returns for a plain request.

    The function gets the request (its path parameters are there) and must return what the
    endpoint returns when every query parameter takes its default and no token is sent; the
    reply is then validated and written through the route's ``response_model`` as usual.

    With ``query_string=True`` it also gets anonymous requests with a query string, reads
    the parameters itself and returns what the endpoint returns for them, or :data:`FALL_BACK`
    for any request it does not read exactly as FastAPI would (FastAPI then solves it).
    """

    def register(fn: PlainRead) -> PlainRead:
        _PLAIN_READS[endpoint] = (fn, query_string)
        return fn

    return register


def _is_plain(request: Request, query_string: bool) -> bool:
    scope = request.scope
    if (scope["query_string"] and not query_string) or not scope.get(OWN_APP_SCOPE_KEY):
        return False
    return all(name != b"authorization" for name, _ in scope["headers"])


def json_reply(
    model: BaseModel, *, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``model`` (an instance of the route's ``response_model``) written straight to JSON bytes.

    FastAPI would validate the returned model again against the response model, dump it and
    serialize the dump; the model is already that type, so it is serialized once. Money stays
    exact (``wire.write_exact`` treats these bytes like any reply), and the route's
    ``response_model`` and ``status_code`` still document it.
    """
    return Response(
        content=model.model_dump_json(by_alias=True),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )


class ShopRoute(APIRoute):
    """Also renders shopkit's errors itself, so a route keeps its ``{"detail", "code"}`` bodies
    (and never echoes a rejected input) when it is included in a host app with other handlers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        # As FastAPI builds the handler: an included route's effective route (its app's
        # dependency overrides, the include's dependencies).
        built = built_route(self)
        early = _auth_level(built.dependant) if built.body_field is not None else None
        registered = _PLAIN_READS.get(self.endpoint) if self.methods == {"GET"} else None
        plain, with_query = registered if registered is not None else (None, False)
        overrides = built.dependency_overrides_provider
        response_field, status_code = built.response_field, built.status_code or 200
        solver = compile_route(self)

        async def plain_reply(request: Request, read: PlainRead, marks: wire.Marks) -> Response:
            answer = await read(request)
            if isinstance(answer, FallBack):
                return await handler(_ExactJSONRequest(request.scope, request.receive))
            if isinstance(answer, Response):  # already written (a page: see products/router)
                return answer
            content = await serialize_response(
                field=response_field, response_content=answer, dump_json=True
            )
            # Exact before the Response is made, so its Content-Length is right from the start.
            return Response(
                content=wire.write_exact(content, marks),
                media_type="application/json",
                status_code=status_code,
            )

        async def exact(request: Request) -> Response:
            try:
                if early is not None:
                    await authenticate_early(request, early)
                with wire.exact_numbers() as marks:
                    if (
                        plain is not None
                        and response_field is not None
                        and not getattr(overrides, "dependency_overrides", None)
                        and _is_plain(request, with_query)
                    ):
                        response = await plain_reply(request, plain, marks)
                    else:
                        exact_request = _ExactJSONRequest(request.scope, request.receive)
                        solved = None if solver is None else await solver.respond(exact_request)
                        response = await handler(exact_request) if solved is None else solved
            except ShopError as exc:
                return shop_error_response(exc)
            except RequestValidationError as exc:
                return validation_error_response(exc)
            except StarletteHTTPException as exc:
                return http_error_response(exc, request)
            except StoreUnreachable as exc:
                return store_unavailable_response(exc)
            body = getattr(response, "body", None)
            if isinstance(body, bytes):
                exact_body = wire.write_exact(body, marks)
                if exact_body is not body:
                    response.body = exact_body
                    response.headers["content-length"] = str(len(exact_body))
            return response

        return exact


class ShopRouter(APIRouter):
    """An ``APIRouter`` of :class:`ShopRoute` routes that turns a request away at once when its
    path cannot be one of them.

    Every route of a router with a ``prefix`` has a path that contains it (whatever prefixes
    the router is included under), and a path pattern matches only paths that contain its
    literal text, so a request path without the prefix matches none of the routes, not even
    partially (the 405 case). Without this, every request was tried against every route of
    every service before its own: about a tenth of a checkout's CPU. Likewise a router whose
    routes are all plain paths (a collection's: ``/products``, ``/products/search``; the health
    routes) turns away any path that does not end with one of them.
    """

    def __init__(self, *, prefix: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("route_class", ShopRoute)
        super().__init__(prefix=prefix, **kwargs)
        # When every route is a path of plain text (no parameter, no included router), those
        # paths: a request path can only be one of them if it ends with it. Worked out again
        # whenever the number of routes changes (a route added or removed any way at all).
        self._plain_paths: tuple[str, ...] | None = None
        self._plain_for = -1

    def _plain(self) -> tuple[str, ...] | None:
        routes = self.routes
        if len(routes) != self._plain_for:
            paths = [route.path for route in routes if isinstance(route, APIRoute)]
            plain = len(paths) == len(routes) and all(
                path.startswith("/") and "{" not in path for path in paths
            )
            self._plain_paths = tuple(paths) if plain and paths else None
            self._plain_for = len(routes)
        return self._plain_paths

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope.get("path", "")
        prefix = self.prefix
        if prefix and prefix not in path:
            return Match.NONE, {}
        plain = self._plain()
        if plain is not None and not path.endswith(plain):
            return Match.NONE, {}  # e.g. "/api/products/{id}" against the collection's routes
        return super().matches(scope)
