"""A route's dependencies solved from a plan made once, instead of by FastAPI's general solver.

FastAPI's ``solve_dependencies`` walks a route's dependency tree on every request and asks of
each node what kind of callable it is, which cache key it has, whether it uses security
scopes, and builds a sub-response for it: about a sixth of the server's CPU in a checkout
benchmark (py-spy, 32 buyers adding to their carts and checking out). :func:`compile_route`
makes, once per route, a plan of the same tree for the kinds of dependency shopkit's routes
use: ``async`` functions and security schemes that take the request, path, query, header and
cookie parameters, other dependencies and a JSON body. :meth:`Solver.respond` then

1. reads a JSON body as FastAPI does (the same errors for a body it cannot read);
2. validates every parameter of every node, and the body, with FastAPI's own functions;
3. calls the dependencies in FastAPI's order (depth first, each node's dependencies before
   it, one call per request for a cached dependency), then the endpoint, and renders its
   reply as FastAPI does.

A request it would not solve exactly as FastAPI does is left to FastAPI (``respond`` returns
None) *before any dependency runs*: a validation error anywhere (FastAPI's 422 lists every
error of the request), a validator that raises instead of reporting an error, a body that is
not ``application/json``, dependency overrides, FastAPI telemetry. Validation has no effects,
so nothing is done twice (a request FastAPI answers with a 422 is validated twice: the price
of an error). A route with any other kind of dependency (generators, sync functions,
background tasks, a ``Response`` or security-scopes parameter, limited concurrency, forms,
streams) gets no plan: FastAPI solves it, always.

What the plan assumes, true of shopkit's routes (the only ones built as :class:`ShopRoute`):
a parameter's validation does not depend on what a dependency did (parameters are validated
before the first dependency runs, where FastAPI validates each node's just before calling it),
and a dependency's callable is not swapped on the route after it is built. No plan is made
under a FastAPI release it was not checked against (:data:`CHECKED_RELEASES`), nor when
FastAPI's request handler is wrapped by instrumentation (``fastapi.routing.get_request_handler``,
as Sentry's integration wraps it): those routes keep FastAPI's own path, wrappers included. A
wrapper of ``fastapi.routing.serialize_response`` is called as FastAPI would call it; one of
``solve_dependencies`` alone is not (the plan is what replaces it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import fastapi
import fastapi.routing
from fastapi import params
from fastapi._compat import ModelField
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.utils import is_body_allowed_for_status_code
from pydantic_core import PydanticUndefined as Undefined
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

try:  # FastAPI >= 0.165: what a route included in a router is built from
    from fastapi._body_limit import get_body_limit_error
    from fastapi._compat import field_annotation_is_sequence
    from fastapi.dependencies.models import (
        _get_cache_key,
        _is_async_gen_callable,
        _is_coroutine_callable,
        _is_gen_callable,
    )
    from fastapi.dependencies.utils import (
        _get_param_aliases,
        _get_param_model,
        _is_json_field,
        _validate_value_with_model_field,
        request_body_to_args,
        request_params_to_args,
    )
    from fastapi.routing import _effective_route_context_var
    from fastapi.telemetry._api import get_telemetry_data
    from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
except ImportError:  # pragma: no cover - another FastAPI: every route is solved by FastAPI
    _IMPORTED = False
else:
    _IMPORTED = True

# The FastAPI releases (major.minor) whose dependency solving the plan was checked against
# (tests/server/test_solver.py runs both paths side by side); under any other, FastAPI solves.
CHECKED_RELEASES = frozenset({"0.165"})
_SUPPORTED = _IMPORTED and ".".join(fastapi.__version__.split(".")[:2]) in CHECKED_RELEASES

_UNDEFINED: Any = object()
_MISSING: Any = Undefined  # a parameter not sent, as FastAPI marks it for validation
_Source = Callable[[Request], Any]
_SOURCES: tuple[tuple[str, _Source], ...] = (
    ("path_params", lambda request: request.path_params),
    ("query_params", lambda request: request.query_params),
    ("header_params", lambda request: request.headers),
    ("cookie_params", lambda request: request.cookies),
)


@dataclass(frozen=True, slots=True)
class _Param:
    """A parameter of one value (not a list, not a model of parameters), read as
    ``request_params_to_args`` reads it: the first of its names the request has, or the first
    name; absent (None) is FastAPI's undefined, then its default or its "missing" error."""

    field: ModelField
    source: _Source
    names: tuple[str, ...]
    where: str  # "path", "query", "header" or "cookie": the first part of an error's loc

    def read(self, request: Request, values: dict[str, Any]) -> tuple[Any, list[Any]]:
        received = self.source(request)
        name = next((n for n in self.names if n in received), self.names[0])
        value = received.get(name, None)
        return _validate_value_with_model_field(
            field=self.field,
            value=_MISSING if value is None else value,
            values=values,
            loc=(self.where, name),
        )


def _simple(field: ModelField, source: _Source) -> _Param | None:
    if _get_param_model(field) is not None or (
        not _is_json_field(field) and field_annotation_is_sequence(field.field_info.annotation)
    ):
        return None
    where = field.field_info.in_.value  # type: ignore[attr-defined]
    names = tuple(name for _, name in _get_param_aliases(field))
    return _Param(field, source, names, where)


@dataclass(frozen=True, slots=True)
class _Node:
    """One dependency (or the endpoint) of a route: what it is called with, in FastAPI's order."""

    index: int  # its place in Solver.nodes (the validated values of each node, by index)
    call: Callable[..., Awaitable[Any]]
    name: str | None  # the parameter it fills in its parent
    use_cache: bool
    cache_key: Any
    children: tuple[_Node, ...]
    params: tuple[tuple[list[ModelField], _Source], ...]  # groups FastAPI's function reads
    simple: tuple[_Param, ...]  # the other parameters (one value each, no model)
    body_params: list[ModelField]
    request_names: tuple[str, ...]  # parameters that take the request itself


class Solver:
    """A route's plan: see the module's docstring."""

    def __init__(self, route: Any, root: _Node, nodes: list[_Node]) -> None:
        self.root = root
        self.nodes = nodes
        self.reads_body = route.body_field is not None
        self.embed_body_fields: bool = route._embed_body_fields
        self.overrides = route.dependency_overrides_provider
        self.response_field = route.response_field
        self.status_code: int | None = route.status_code
        response_class = route.response_class
        self.dump_json = route.response_field is not None and isinstance(
            response_class, DefaultPlaceholder
        )
        self.response_class: type[Response] = (
            response_class.value
            if isinstance(response_class, DefaultPlaceholder)
            else response_class
        )
        self.serialize: dict[str, Any] = {
            "include": route.response_model_include,
            "exclude": route.response_model_exclude,
            "by_alias": route.response_model_by_alias,
            "exclude_unset": route.response_model_exclude_unset,
            "exclude_defaults": route.response_model_exclude_defaults,
            "exclude_none": route.response_model_exclude_none,
        }

    async def respond(self, request: Request) -> Response | None:
        """The route's reply, or None: FastAPI is to solve this request (nothing has run)."""
        if getattr(self.overrides, "dependency_overrides", None) or get_telemetry_data():
            return None
        body: Any = _UNDEFINED
        if self.reads_body:
            body = await _json_body(request)
            if body is _UNDEFINED:
                return None
        validated = await self._validate(request, body)
        if validated is None:
            return None
        cache: dict[Any, Any] = {}
        values = await self._values(self.root, request, validated, cache)
        raw = await self.root.call(**values)
        if isinstance(raw, Response):
            return raw
        content = await fastapi.routing.serialize_response(  # as patched, if it is
            field=self.response_field,
            response_content=raw,
            is_coroutine=True,
            dump_json=self.dump_json,
            **self.serialize,
        )
        # The status goes to the constructor: it decides whether a Content-Length is sent.
        if self.dump_json:
            response = Response(
                content=content, media_type="application/json", status_code=self.status_code or 200
            )
        elif self.status_code is None:
            response = self.response_class(content)
        else:
            response = self.response_class(content, status_code=self.status_code)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        return response

    async def _validate(self, request: Request, body: Any) -> list[dict[str, Any]] | None:
        """Every node's parameters, validated; None at the first error, or if a validator
        raises (FastAPI then validates after the dependencies before it, as it always does)."""
        try:
            return await self._validated(request, body)
        except Exception:
            return None

    async def _validated(self, request: Request, body: Any) -> list[dict[str, Any]] | None:
        validated: list[dict[str, Any]] = []
        for node in self.nodes:
            values: dict[str, Any] = {}
            for param in node.simple:
                value, errors = param.read(request, values)
                if errors:
                    return None
                values[param.field.name] = value
            for fields, source in node.params:
                found, errors = request_params_to_args(fields, source(request))
                if errors:
                    return None
                values.update(found)
            if node.body_params:
                found, errors = await request_body_to_args(
                    body_fields=node.body_params,
                    received_body=body,
                    embed_body_fields=self.embed_body_fields,
                )
                if errors:
                    return None
                values.update(found)
            validated.append(values)
        return validated

    async def _values(
        self,
        node: _Node,
        request: Request,
        validated: list[dict[str, Any]],
        cache: dict[Any, Any],
    ) -> dict[str, Any]:
        """What ``node`` is called with, its dependencies called first (as FastAPI does: a
        dependency's own dependencies are solved even when its value is in the cache)."""
        values: dict[str, Any] = {}
        for child in node.children:
            child_values = await self._values(child, request, validated, cache)
            if child.use_cache and child.cache_key in cache:
                solved = cache[child.cache_key]
            else:
                solved = await child.call(**child_values)
            if child.name is not None:
                values[child.name] = solved
            cache.setdefault(child.cache_key, solved)
        values.update(validated[node.index])
        for name in node.request_names:
            values[name] = request
        return values


async def _json_body(request: Request) -> Any:
    """The parsed JSON body, or ``_UNDEFINED`` when FastAPI is to read it (no body, another
    content type, a body that does not parse: FastAPI then answers with its own error)."""
    try:
        raw = await request.body()  # kept on the request: FastAPI reads the same bytes
    except HTTPException:
        raise
    except Exception as exc:  # as FastAPI's handler answers a body it could not read
        if MAX_BODY_SIZE_SCOPE_KEY in request.scope and (error := get_body_limit_error(exc)):
            raise error from exc
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
    content_type = request.headers.get("content-type")
    if not raw or content_type is None:
        return _UNDEFINED
    if content_type.partition(";")[0].strip().lower() != "application/json":
        return _UNDEFINED
    try:
        return await request.json()
    except Exception:
        return _UNDEFINED


def built_route(route: APIRoute) -> Any:
    """The route FastAPI builds ``route``'s handler for now: the effective route of an included
    router's route (its app's dependency overrides, the include's dependencies), or itself."""
    if not _IMPORTED:
        return route  # pragma: no cover - another FastAPI
    effective = _effective_route_context_var.get()
    return effective if effective is not None and effective.original_route is route else route


def _instrumented() -> bool:
    """Whether FastAPI's request handler is wrapped (an error tracker's integration, say)."""
    handler = fastapi.routing.get_request_handler
    return getattr(handler, "__wrapped__", None) is not None or (
        getattr(handler, "__module__", None) != "fastapi.routing"
    )


def compile_route(route: APIRoute) -> Solver | None:
    """The plan for ``route`` as FastAPI builds its handler now, or None (FastAPI solves it)."""
    if not _SUPPORTED or _instrumented():
        return None
    built = built_route(route)
    if built.body_field is not None and isinstance(built.body_field.field_info, params.Form):
        return None
    if getattr(built, "stream_item_field", None) is not None or getattr(
        built, "is_json_stream", False
    ):
        return None
    nodes: list[_Node] = []
    root = _node(built.dependant, nodes)
    if root is None:
        return None
    return Solver(built, root, nodes)


def _node(dependant: Dependant, nodes: list[_Node]) -> _Node | None:
    call = dependant.call
    if (
        call is None
        or dependant.websocket_param_name
        or dependant.response_param_name
        or dependant.background_tasks_param_name
        or dependant.security_scopes_param_name
        or dependant.concurrency is not None
        or _is_gen_callable(call)
        or _is_async_gen_callable(call)
        or not _is_coroutine_callable(call)
    ):
        return None
    index = len(nodes)
    nodes.append(None)  # type: ignore[arg-type]  # its place, filled below (pre-order)
    children = []
    for sub in dependant.dependencies:
        child = _node(sub, nodes)
        if child is None:
            return None
        children.append(child)
    groups: list[tuple[list[ModelField], _Source]] = []
    simple: list[_Param] = []
    for attribute, source in _SOURCES:
        fields = getattr(dependant, attribute)
        compiled = [_simple(field, source) for field in fields]
        if all(param is not None for param in compiled):
            simple.extend(param for param in compiled if param is not None)
        elif fields:
            groups.append((fields, source))
    node = _Node(
        index=index,
        call=call,
        name=dependant.name,
        use_cache=dependant.use_cache,
        cache_key=_get_cache_key(dependant=dependant),
        children=tuple(children),
        params=tuple(groups),
        simple=tuple(simple),
        body_params=dependant.body_params,
        request_names=tuple(
            name
            for name in (dependant.http_connection_param_name, dependant.request_param_name)
            if name
        ),
    )
    nodes[index] = node
    return node


__all__ = ["Solver", "compile_route"]
