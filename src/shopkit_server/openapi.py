"""The OpenAPI document: what a client generator needs, derived from the routes themselves.

One builder (:func:`build_openapi`) post-processes FastAPI's document:

- **Operation ids** are the endpoint function names (``list_products``, ``checkout``): plain
  verb-noun, unique (checked here), pinned by ``tests/server/test_openapi.py``.
- **Security** as each route really is: the dependencies a route uses say it. ``admin_user``:
  a bearer token of an admin (``x-shopkit-role: admin``); ``current_user`` / ``active_user``:
  a bearer token;
  ``optional_user``: none needed, one accepted (``security: [{}, {"bearer": []}]``); nothing:
  public.
- **Errors**: every status a route can answer with, each with the ``{detail, code}`` schema and
  ``code`` an enum of exactly that route's codes. The codes come from one declaration, the
  :func:`~shopkit_server.errors.raises` marks on the endpoint and on every dependency it uses
  (``current_user``, ``active_user`` and ``admin_user`` declare the 401s and the 403s once, for
  every route that needs a user), plus ``validation_error`` for any route that takes
  parameters and 413 ``payload_too_large`` for any route with a body (``body_limit``). Every
  422 has a list ``detail`` (``{type, loc, msg}``), every other status a string; a 429
  documents ``Retry-After``.
- **Nullable** fields as JSON Schema 2020-12 types (``type: ["string", "null"]``) instead of
  ``anyOf [X, null]``; money as ``type: number, format: decimal`` (see ``money.py``).
- **Caching**: catalog GETs document ``ETag``/``Cache-Control`` and their 304 (``http_cache``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import _get_api_route_for_openapi, get_openapi
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from shopkit_server.body_limit import TOO_LARGE
from shopkit_server.deps import (
    active_user,
    admin_user,
    current_user,
    optional_active_user,
    optional_user,
    service_caller,
)
from shopkit_server.errors import ShopError

Schema = dict[str, Any]

TAGS: list[dict[str, str]] = [
    {
        "name": "auth",
        "description": "Accounts and tokens: register, sign in, refresh, profile; "
        "admins list and manage accounts.",
    },
    {
        "name": "products",
        "description": "The public catalog (no token needed) and, for admins, "
        "creating, changing, importing and retiring products.",
    },
    {
        "name": "categories",
        "description": "The category tree; reading is public, changing it is for admins.",
    },
    {"name": "cart", "description": "The signed-in customer's cart, priced from the catalog."},
    {
        "name": "orders",
        "description": "Checkout, order history, cancellation; admins move "
        "orders along their status flow.",
    },
    {
        "name": "payments",
        "description": "Paying orders: admins record manual payments (cash on delivery, bank "
        "transfer); an app gets its order's provider intent (Stripe client_secret); "
        "providers' signed webhooks.",
    },
    {
        "name": "webhooks",
        "description": "Admins register endpoints that receive the shop's events, signed "
        "(Shopkit-Signature), with a delivery log and replays.",
    },
    {"name": "health", "description": "Liveness and database reachability."},
]

SERVERS: list[dict[str, str]] = [
    {"url": "/", "description": "The server this document was fetched from"},
    {"url": "http://localhost:8000", "description": "`shopkit serve` on this machine"},
]

ADMIN_NOTE = "**Needs an admin**: a bearer token of an account with the admin role."
OPTIONAL_NOTE = "**No token needed.** A bearer token may be sent; a bad one is still a 401."
GUEST_NOTE = (
    "**A bearer token or a guest cart's `X-Cart-Token`.** With a bearer token the account's "
    "cart is used (a bad token is a 401)."
)

_VALIDATION_ISSUE: Schema = {
    "type": "object",
    "description": "One problem with the request: ``type`` is a stable name, ``loc`` where.",
    "required": ["type", "loc", "msg"],
    "properties": {
        "type": {"type": "string", "examples": ["missing"]},
        "loc": {
            "type": "array",
            "items": {"type": ["string", "integer"]},
            "examples": [["body", "price"]],
        },
        "msg": {"type": "string", "examples": ["Field required"]},
    },
}

_DESCRIPTIONS = {
    304: "Not modified: the `If-None-Match` ETag is still current (no body)",
    400: "Bad request",
    401: "Not authenticated: no, a bad or an expired access token (or wrong credentials)",
    403: "Forbidden",
    404: "Not found (also for another user's data and for a malformed id)",
    409: "Conflict with the current state",
    413: f"Payload too large: {TOO_LARGE} (2 MiB; 24 MiB for a bulk import)",
    422: "Unprocessable: the request breaks a rule of the API (``detail`` lists where)",
    429: "Too many attempts, or the server is busy checking passwords: retry after `Retry-After`",
    503: "A service or the database this request needs did not answer",
}

# Examples of the main bodies (validated against their schemas by the test suite).
_PRODUCT_EXAMPLE: Schema = {
    "id": "665f1c2ab4d1e8a9c0f3b201",
    "sku": "HP-200",
    "name": "Wireless headphones",
    "description": "Over-ear, 30 h battery.",
    "price": 79.99,
    "category": "Audio",
    "tags": ["wireless", "audio"],
    "image_url": "https://shop.example/img/hp-200.jpg",
    "stock": 42,
    "in_stock": True,
    "is_active": True,
    "is_featured": False,
    "created_at": "2026-05-01T09:30:00Z",
    "updated_at": "2026-05-02T10:00:00Z",
    "base_price": 79.99,
    "options": [{"name": "Colour", "values": ["Black", "Silver"]}],
    "variants": [
        {
            "id": "665f1c2ab4d1e8a9c0f3b202",
            "sku": "HP-200-BLK",
            "option_values": {"Colour": "Black"},
            "price": None,
            "stock": 30,
            "is_active": True,
            "image_url": None,
        },
        {
            "id": "665f1c2ab4d1e8a9c0f3b203",
            "sku": "HP-200-SLV",
            "option_values": {"Colour": "Silver"},
            "price": 84.99,
            "stock": 12,
            "is_active": True,
            "image_url": "https://shop.example/img/hp-200-silver.jpg",
        },
    ],
    "images": [{"url": "https://shop.example/img/hp-200.jpg", "alt": "Wireless headphones"}],
}
_ADDRESS_EXAMPLE: Schema = {
    "full_name": "Ayesha Khan",
    "address_line1": "12 Mall Road",
    "address_line2": None,
    "city": "Lahore",
    "state": "Punjab",
    "postal_code": "54000",
    "country": "PK",
    "phone": "+92 300 1234567",
}
_ITEM_EXAMPLE: Schema = {
    "product_id": "665f1c2ab4d1e8a9c0f3b201",
    "variant_id": "665f1c2ab4d1e8a9c0f3b202",
    "sku": "HP-200-BLK",
    "option_values": {"Colour": "Black"},
    "name": "Wireless headphones",
    "price": 79.99,
    "quantity": 2,
    "item_total": 159.98,
}
_ADDRESS_OUT_EXAMPLE: Schema = {**_ADDRESS_EXAMPLE}
EXAMPLES: dict[str, Schema] = {
    "RegisterRequest": {
        "email": "ayesha@shop.example",
        "password": "correct horse 42",
        "name": "Ayesha",
    },
    "LoginRequest": {"email": "ayesha@shop.example", "password": "correct horse 42"},
    "ProductCreate": {
        "sku": "HP-200",
        "name": "Wireless headphones",
        "description": "Over-ear, 30 h battery.",
        "price": 79.99,
        "category": "Audio",
        "tags": ["wireless", "audio"],
        "stock": 42,
    },
    "ProductUpdate": {"price": 69.99, "stock": 40},
    "CategoryCreate": {"name": "Audio", "parent_id": None, "sort_order": 0},
    "AddItemRequest": {
        "product_id": "665f1c2ab4d1e8a9c0f3b201",
        "variant_id": "665f1c2ab4d1e8a9c0f3b202",
        "quantity": 2,
    },
    "SetQuantityRequest": {"quantity": 3},
    "CheckoutRequest": {"shipping_address": _ADDRESS_EXAMPLE, "payment_method": "manual"},
    "WebhookCreate": {
        "url": "https://erp.shop.example/hooks/shopkit",
        "event_types": ["order.placed", "order.paid"],
        "active": True,
    },
    "RecordPaymentRequest": {"amount": 172.98},
    "StatusChangeRequest": {"status": "shipped"},
}
# Examples of the main replies (checked against their response schemas by the test suite).
REPLY_EXAMPLES: dict[str, Schema] = {
    "ProductOut": _PRODUCT_EXAMPLE,
    "CartOut": {
        "items": [
            {
                **_ITEM_EXAMPLE,
                "image_url": "https://shop.example/img/hp-200.jpg",
                "available": True,
            }
        ],
        "total_items": 2,
        "subtotal": 159.98,
        "updated_at": "2026-05-02T10:05:00Z",
    },
    "OrderOut": {
        "id": "665f1d90b4d1e8a9c0f3b2aa",
        "user_id": "665f1b00b4d1e8a9c0f3b100",
        "items": [{**_ITEM_EXAMPLE, "image_url": "https://shop.example/img/hp-200.jpg"}],
        "subtotal": 159.98,
        "shipping_cost": 5.0,
        "tax": 8.0,
        "total": 172.98,
        "shipping_address": _ADDRESS_OUT_EXAMPLE,
        "status": "pending",
        "payment_method": "manual",
        "payment_status": "unpaid",
        "payment_intent_id": None,
        "status_history": [
            {"status": "pending", "payment_status": "unpaid", "at": "2026-05-02T10:06:00Z"}
        ],
        "created_at": "2026-05-02T10:06:00Z",
        "updated_at": "2026-05-02T10:06:00Z",
    },
    "AuthResult": {
        "user": {
            "id": "665f1b00b4d1e8a9c0f3b100",
            "email": "ayesha@shop.example",
            "name": "Ayesha",
            "role": "customer",
            "is_active": True,
            "email_verified": True,
            "created_at": "2026-05-01T09:00:00Z",
            "last_login": "2026-05-02T10:00:00Z",
        },
        "tokens": {
            "access_token": "eyJhbGciOiJIUzI1NiJ9.e30.sig",
            "refresh_token": "eyJhbGciOiJIUzI1NiJ9.e30.ref",
            "token_type": "bearer",
            "expires_in": 900,
        },
    },
}


def operation_id(route: APIRoute) -> str:
    """The operation id of a route: its endpoint's name (``generate_unique_id_function``)."""
    return route.name


def _calls(dependant: Dependant) -> Iterable[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _has_parameters(dependant: Dependant) -> bool:
    if dependant.query_params or dependant.header_params or dependant.body_params:
        return True
    if dependant.path_params or dependant.cookie_params:
        return True
    return any(_has_parameters(sub) for sub in dependant.dependencies)


def _has_body(dependant: Dependant) -> bool:
    return bool(dependant.body_params) or any(_has_body(sub) for sub in dependant.dependencies)


def route_errors(route: APIRoute | routing._APIRouteLike) -> dict[int, list[str]]:
    """Status -> the sorted codes the route can answer with (its one declaration)."""
    found: dict[int, set[str]] = {}
    for call in _calls(route.dependant):
        declared: tuple[type[ShopError], ...] = getattr(call, "__shop_errors__", ())
        for error in declared:
            found.setdefault(error.status_code, set()).add(error.code)
    if _has_parameters(route.dependant):
        found.setdefault(422, set()).add("validation_error")
    if _has_body(route.dependant):  # body_limit: every body is capped
        found.setdefault(413, set()).add("payload_too_large")
    return {status: sorted(codes) for status, codes in sorted(found.items())}


def _error_schema(status: int, codes: list[str]) -> Schema:
    detail: Schema = (
        {"type": "array", "items": {"$ref": "#/components/schemas/ValidationIssue"}}
        if status == 422
        else {"type": "string", "examples": ["Product not found."]}
    )
    return {
        "type": "object",
        "required": ["detail", "code"],
        "properties": {"detail": detail, "code": {"type": "string", "enum": codes}},
    }


def _nullable(node: Any) -> Any:
    """``anyOf [X, {type: null}]`` -> ``X`` with ``type: [X.type, "null"]`` (recursively)."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable(value) for key, value in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and len(options) == 2 and {"type": "null"} in options:
        other = next(option for option in options if option != {"type": "null"})
        if isinstance(other.get("type"), str) and "$ref" not in other:
            merged = {**other, "type": [other["type"], "null"]}
            if "enum" in merged:
                merged["enum"] = [*merged["enum"], None]
            rest = {key: value for key, value in node.items() if key != "anyOf"}
            return {**merged, **rest}
    return node


def _optional_parameters(operation: Schema) -> None:
    """An optional query parameter is absent, never null: drop ``null`` from its schema."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        if parameter.get("required"):
            continue
        kinds = schema.get("type")
        if isinstance(kinds, list) and "null" in kinds:
            rest = [kind for kind in kinds if kind != "null"]
            schema["type"] = rest[0] if len(rest) == 1 else rest
        options = schema.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options:
            others = [option for option in options if option != {"type": "null"}]
            del schema["anyOf"]
            if len(others) == 1:
                schema.update(others[0])
            else:
                schema["anyOf"] = others


def _security(calls: set[Callable[..., Any]], operation: Schema) -> None:
    description = operation.get("description", "")
    if admin_user in calls:
        operation["security"] = [{"bearer": []}]
        operation["x-shopkit-role"] = "admin"
        operation["description"] = f"{ADMIN_NOTE}\n\n{description}".strip()
    elif current_user in calls or active_user in calls or service_caller in calls:
        operation["security"] = [{"bearer": []}]
        operation["x-shopkit-role"] = "customer"
    elif optional_active_user in calls:
        operation["security"] = [{}, {"bearer": []}]
        operation["x-shopkit-role"] = "guest"
        operation["description"] = f"{GUEST_NOTE}\n\n{description}".strip()
    elif optional_user in calls:
        operation["security"] = [{}, {"bearer": []}]
        operation["x-shopkit-role"] = "public"
        operation["description"] = f"{OPTIONAL_NOTE}\n\n{description}".strip()
    else:
        operation["security"] = []
        operation["x-shopkit-role"] = "public"


def build_openapi(
    app: FastAPI,
    *,
    cacheable: Callable[[str], bool],
    routes: Sequence[BaseRoute] | None = None,
) -> Schema:
    """The document for ``app`` (or for ``routes`` of it: a shop included in a host app);
    ``cacheable(path)`` says which GETs send ETags (http_cache)."""
    from shopkit_server.http_cache import CACHE_HEADERS  # avoid an import cycle at load

    routes = app.routes if routes is None else routes
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=routes,
        tags=TAGS,
        servers=SERVERS,
    )
    seen: dict[str, str] = {}
    for context in routing.iter_route_contexts(routes):
        # The route as included (prefix, router dependencies), as FastAPI documents it.
        route = _get_api_route_for_openapi(context)
        if route is None or not route.include_in_schema:
            continue
        calls = set(_calls(route.dependant))
        errors = route_errors(route)
        for method in sorted(route.methods):
            operation = document["paths"][route.path_format][method.lower()]
            op_id = operation["operationId"]
            if op_id in seen:
                raise RuntimeError(f"operation id {op_id!r} of {route.path} is not unique")
            seen[op_id] = route.path
            _security(calls, operation)
            responses: Schema = operation["responses"]
            responses.pop("422", None)  # FastAPI's own, replaced below with the real shape
            for status, codes in errors.items():
                responses[str(status)] = {
                    "description": _DESCRIPTIONS.get(status, "Error"),
                    "content": {"application/json": {"schema": _error_schema(status, codes)}},
                }
                if status == 429:
                    responses["429"]["headers"] = {
                        "Retry-After": {
                            "description": "Seconds to wait before trying again",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    }
                if status == 401:
                    responses["401"]["headers"] = {
                        "WWW-Authenticate": {
                            "description": "`Bearer`",
                            "schema": {"type": "string"},
                        }
                    }
            if method == "GET" and cacheable(route.path_format):
                ok = responses.get("200")
                if ok is not None:
                    ok["headers"] = CACHE_HEADERS
                responses["304"] = {"description": _DESCRIPTIONS[304], "headers": CACHE_HEADERS}
            operation["responses"] = dict(sorted(responses.items()))
    components = document.setdefault("components", {})
    schemas: Schema = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["ValidationIssue"] = _VALIDATION_ISSUE
    for name, example in {**EXAMPLES, **REPLY_EXAMPLES}.items():
        if name in schemas:
            schemas[name]["examples"] = [example]
    result: Schema = _nullable(document)
    for path in result["paths"].values():
        for operation in path.values():
            _optional_parameters(operation)
    return result


def install_openapi(app: FastAPI, *, cacheable: Callable[[str], bool]) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) serve :func:`build_openapi`, built once."""

    def openapi() -> Schema:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app, cacheable=cacheable)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
