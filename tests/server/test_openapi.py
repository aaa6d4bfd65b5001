"""The OpenAPI document is one a client generator can use: names, security, errors, types."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from shopkit_server import wire
from shopkit_server.app import create_app
from shopkit_server.auth.schemas import LoginRequest, RegisterRequest
from shopkit_server.cart.schemas import AddItemRequest, SetQuantityRequest
from shopkit_server.openapi import EXAMPLES, REPLY_EXAMPLES
from shopkit_server.orders.schemas import CheckoutRequest, StatusChangeRequest
from shopkit_server.payments.schemas import RecordPaymentRequest
from shopkit_server.products.schemas import (
    CategoryCreate,
    ProductCreate,
    ProductUpdate,
)
from shopkit_server.settings import Settings
from shopkit_server.webhooks.schemas import WebhookCreate
from tests.conftest import UserSession
from tests.server.cart.shop import Shop

# The public contract of method names: a rename breaks every generated client, so it is
# deliberate. (method, path) -> operationId.
OPERATIONS = {
    ("POST", "/api/auth/register"): "register",
    ("POST", "/api/auth/login"): "login",
    ("POST", "/api/auth/refresh"): "refresh_tokens",
    ("POST", "/api/auth/logout"): "logout",
    ("GET", "/api/auth/me"): "get_me",
    ("PATCH", "/api/auth/me"): "update_me",
    ("POST", "/api/auth/change-password"): "change_password",
    ("GET", "/api/auth/users"): "list_users",
    ("PATCH", "/api/auth/users/{user_id}"): "update_user",
    ("POST", "/api/auth/users/{user_id}/password-reset"): "send_user_password_reset",
    ("POST", "/api/auth/users/{user_id}/verification"): "send_user_verification",
    ("POST", "/api/auth/password-reset"): "request_password_reset",
    ("POST", "/api/auth/password-reset/confirm"): "confirm_password_reset",
    ("POST", "/api/auth/verify-email"): "verify_email",
    ("POST", "/api/auth/verify-email/resend"): "resend_verification",
    ("GET", "/api/auth/me/addresses"): "list_addresses",
    ("POST", "/api/auth/me/addresses"): "create_address",
    ("GET", "/api/auth/me/addresses/{address_id}"): "get_address",
    ("PATCH", "/api/auth/me/addresses/{address_id}"): "update_address",
    ("DELETE", "/api/auth/me/addresses/{address_id}"): "delete_address",
    ("GET", "/api/products"): "list_products",
    ("POST", "/api/products"): "create_product",
    ("GET", "/api/products/search"): "search_products",
    ("GET", "/api/products/featured"): "list_featured_products",
    ("POST", "/api/products/bulk"): "import_products",
    ("GET", "/api/products/{product_id}"): "get_product",
    ("PATCH", "/api/products/{product_id}"): "update_product",
    ("DELETE", "/api/products/{product_id}"): "delete_product",
    ("POST", "/api/products/{product_id}/variants"): "create_variant",
    ("PATCH", "/api/products/{product_id}/variants/{variant_id}"): "update_variant",
    ("DELETE", "/api/products/{product_id}/variants/{variant_id}"): "delete_variant",
    ("GET", "/api/categories"): "list_categories",
    ("POST", "/api/categories"): "create_category",
    ("GET", "/api/categories/{category_id}"): "get_category",
    ("PATCH", "/api/categories/{category_id}"): "update_category",
    ("DELETE", "/api/categories/{category_id}"): "delete_category",
    ("GET", "/api/cart"): "get_cart",
    ("DELETE", "/api/cart"): "clear_cart",
    ("POST", "/api/cart/items"): "add_cart_item",
    ("PATCH", "/api/cart/items/{item_id}"): "set_cart_item_quantity",
    ("DELETE", "/api/cart/items/{item_id}"): "remove_cart_item",
    ("POST", "/api/orders"): "checkout",
    ("GET", "/api/orders"): "list_orders",
    ("GET", "/api/orders/{order_id}"): "get_order",
    ("PATCH", "/api/orders/{order_id}/status"): "change_order_status",
    ("POST", "/api/orders/{order_id}/cancel"): "cancel_order",
    ("POST", "/api/orders/{order_id}/payments"): "record_payment",
    ("POST", "/api/orders/{order_id}/payment-intent"): "get_payment_intent",
    ("POST", "/api/payments/stripe/webhook"): "stripe_webhook",
    ("POST", "/api/webhooks"): "create_webhook",
    ("GET", "/api/webhooks"): "list_webhooks",
    ("GET", "/api/webhooks/{webhook_id}"): "get_webhook",
    ("PATCH", "/api/webhooks/{webhook_id}"): "update_webhook",
    ("DELETE", "/api/webhooks/{webhook_id}"): "delete_webhook",
    ("GET", "/api/webhooks/{webhook_id}/deliveries"): "list_webhook_deliveries",
    ("POST", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"): (
        "replay_webhook_delivery"
    ),
    ("GET", "/health"): "get_health",
}
PUBLIC_READS = {
    "list_products",
    "search_products",
    "list_featured_products",
    "get_product",
}
NO_AUTH = {
    "register",
    "login",
    "refresh_tokens",
    "request_password_reset",
    "confirm_password_reset",
    "verify_email",
    "list_categories",
    "get_category",
    "get_health",
    "stripe_webhook",  # signed by Stripe (Stripe-Signature), not by a shop token
}
# An account's cart with a bearer token, a guest cart's with X-Cart-Token.
GUEST = {"get_cart", "clear_cart", "add_cart_item", "set_cart_item_quantity", "remove_cart_item"}
ADMIN = {
    "list_users",
    "update_user",
    "send_user_password_reset",
    "send_user_verification",
    "create_product",
    "import_products",
    "update_product",
    "delete_product",
    "create_category",
    "update_category",
    "delete_category",
    "change_order_status",
    "record_payment",
    "create_webhook",
    "list_webhooks",
    "get_webhook",
    "update_webhook",
    "delete_webhook",
    "list_webhook_deliveries",
    "replay_webhook_delivery",
}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("openapi")
    settings = Settings(database_url=f"sqlite:///{folder / 'shop.db'}", jwt_secret_key="x" * 40)
    schema: dict[str, Any] = create_app(settings=settings).openapi()
    return schema


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        operation["operationId"]: operation
        for methods in document["paths"].values()
        for operation in methods.values()
    }


def test_operation_ids_are_plain_verb_noun_and_pinned(document: dict[str, Any]) -> None:
    found = {
        (method.upper(), path): operation["operationId"]
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert found == OPERATIONS
    assert len(set(found.values())) == len(found)  # unique
    assert all(op.replace("_", "").isalpha() and op.islower() for op in found.values())


def test_tags_and_servers_are_described(document: dict[str, Any]) -> None:
    tags = {tag["name"]: tag["description"] for tag in document["tags"]}
    assert set(tags) == {
        "auth", "products", "categories", "cart", "orders", "payments", "webhooks", "health"
    }  # fmt: skip
    assert all(len(text) > 20 for text in tags.values())
    assert document["servers"][0]["url"] == "/"
    used = {tag for op in _operations(document).values() for tag in op["tags"]}
    assert used <= set(tags)


def test_security_is_declared_as_it_really_is(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for op_id, operation in _operations(document).items():
        if op_id in PUBLIC_READS:
            assert operation["security"] == [{}, {"bearer": []}], op_id
            assert "No token needed" in operation["description"]
        elif op_id in GUEST:
            assert operation["security"] == [{}, {"bearer": []}], op_id
            assert "X-Cart-Token" in operation["description"], op_id
            assert operation["x-shopkit-role"] == "guest", op_id
        elif op_id in NO_AUTH:
            assert operation["security"] == [], op_id
        else:
            assert operation["security"] == [{"bearer": []}], op_id
            assert "401" in operation["responses"], op_id
        role = "admin" if op_id in ADMIN else operation["x-shopkit-role"]
        assert operation["x-shopkit-role"] == role, op_id
        if op_id in ADMIN:
            assert operation["description"].startswith("**Needs an admin**")
            assert "forbidden" in _codes(operation, "403")


def _codes(operation: dict[str, Any], status: str) -> list[str]:
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    assert schema["required"] == ["detail", "code"]
    codes: list[str] = schema["properties"]["code"]["enum"]
    return codes


def test_every_error_status_of_checkout_is_documented_with_its_codes(
    document: dict[str, Any],
) -> None:
    checkout = _operations(document)["checkout"]
    assert set(checkout["responses"]) == {
        "201", "400", "401", "403", "404", "409", "413", "422", "503"
    }  # fmt: skip
    assert _codes(checkout, "400") == ["cart_empty", "payment_method_unavailable"]
    assert _codes(checkout, "401") == ["invalid_token", "not_authenticated"]
    # ActiveUser: the live account; and a verified email where the shop asks for one.
    assert _codes(checkout, "403") == ["account_disabled", "email_not_verified"]
    assert _codes(checkout, "413") == ["payload_too_large"]
    assert _codes(checkout, "409") == [
        "cart_line_limit",
        "checkout_in_progress",
        "idempotency_key_in_progress",
        "idempotency_key_reused",
        "insufficient_stock",
    ]
    assert _codes(checkout, "422") == ["validation_error"]
    assert _codes(checkout, "503") == ["upstream_unavailable"]
    create = _operations(document)["create_category"]
    assert _codes(create, "422") == ["invalid_category_name", "unknown_parent", "validation_error"]
    stripe = _operations(document)["stripe_webhook"]
    assert _codes(stripe, "400") == ["invalid_signature", "payment_method_unavailable"]
    listing = _operations(document)["list_products"]
    assert _codes(listing, "400") == ["invalid_cursor"]
    assert _codes(listing, "422") == ["invalid_price_range", "unprocessable", "validation_error"]
    assert "304" in listing["responses"]
    assert listing["responses"]["200"]["headers"]["ETag"]["required"] is True


def test_throttling_body_caps_and_cart_limits_are_documented(document: dict[str, Any]) -> None:
    operations = _operations(document)
    for op_id, codes in (
        ("login", ["server_busy", "too_many_attempts"]),
        ("register", ["server_busy", "too_many_attempts"]),
        ("change_password", ["server_busy", "too_many_attempts"]),
    ):
        assert _codes(operations[op_id], "429") == codes, op_id
        headers = operations[op_id]["responses"]["429"]["headers"]
        assert headers["Retry-After"]["schema"]["type"] == "integer", op_id
    assert "429" not in operations["refresh_tokens"]["responses"]
    # Every operation with a body can be refused for its size (body_limit), and only those.
    for op_id, operation in operations.items():
        has_body = "requestBody" in operation
        assert ("413" in operation["responses"]) is has_body, op_id
        if has_body:
            assert _codes(operation, "413") == ["payload_too_large"], op_id
    # State-changing customer routes check the live account (ActiveUser).
    for op_id in ("add_cart_item", "set_cart_item_quantity", "remove_cart_item", "clear_cart",
                  "cancel_order", "update_me", "change_password"):  # fmt: skip
        assert "account_disabled" in _codes(operations[op_id], "403"), op_id
    assert _codes(operations["add_cart_item"], "409") == [
        "cart_line_limit",
        "insufficient_stock",
        "quantity_limit_exceeded",
    ]


def test_no_nullable_anyof_of_simple_types_and_money_is_a_decimal(
    document: dict[str, Any],
) -> None:
    text = json.dumps(document)
    # Only $ref-or-null is left: UpdateUserRequest.role, AuthResult.cart_merge,
    # MergedLineOut.shortfall and CheckoutRequest.shipping_address.
    assert text.count('"anyOf"') <= 4
    schemas = document["components"]["schemas"]
    assert schemas["ProductOut"]["properties"]["sku"]["type"] == ["string", "null"]
    price = schemas["ProductOut"]["properties"]["price"]
    assert price["type"] == "number" and price["format"] == "decimal"
    assert "two decimal places" in price["description"]
    price_in = schemas["ProductCreate"]["properties"]["price"]
    assert price_in["type"] == "number" and price_in["format"] == "decimal"
    assert schemas["OrderOut"]["properties"]["total"]["format"] == "decimal"
    assert "HTTPValidationError" not in schemas


def test_examples_are_valid_requests_and_replies(document: dict[str, Any]) -> None:
    models: dict[str, Any] = {
        "RegisterRequest": RegisterRequest,
        "LoginRequest": LoginRequest,
        "ProductCreate": ProductCreate,
        "ProductUpdate": ProductUpdate,
        "CategoryCreate": CategoryCreate,
        "AddItemRequest": AddItemRequest,
        "SetQuantityRequest": SetQuantityRequest,
        "CheckoutRequest": CheckoutRequest,
        "StatusChangeRequest": StatusChangeRequest,
        "WebhookCreate": WebhookCreate,
        "RecordPaymentRequest": RecordPaymentRequest,
    }
    assert set(models) == set(EXAMPLES)
    schemas = document["components"]["schemas"]
    for name, model in models.items():
        example = schemas[name]["examples"][0]
        # Parsed as the server parses a body: numbers exact, then the model's own rules.
        model.model_validate(wire.loads(json.dumps(example).encode()))
    # Replies: valid against the schema a client generator reads.
    assert set(REPLY_EXAMPLES) == {"ProductOut", "CartOut", "OrderOut", "AuthResult"}
    for name in REPLY_EXAMPLES:
        example = schemas[name]["examples"][0]
        jsonschema.validate(example, {"components": document["components"], **schemas[name]})
        assert set(example) == set(schemas[name]["required"])


async def _check(reply: httpx.Response, document: dict[str, Any], op_id: str) -> dict[str, Any]:
    """The reply matches the schema the document gives for its status."""
    operation = _operations(document)[op_id]
    schema = operation["responses"][str(reply.status_code)]["content"]["application/json"]["schema"]
    resolver = {"components": document["components"], **schema}
    jsonschema.validate(reply.json(), resolver)
    body: dict[str, Any] = reply.json()
    return body


async def test_domain_422s_have_the_documented_list_shape(
    app: FastAPI, admin: UserSession, client: httpx.AsyncClient
) -> None:
    document = app.openapi()
    body = await _check(
        await admin.client.post("/categories", json={"name": "!!!"}), document, "create_category"
    )
    assert body["code"] == "invalid_category_name"
    assert body["detail"][0] == {
        "type": "invalid_category_name",
        "loc": ["body", "name"],
        "msg": "A category name needs at least one letter or digit.",
    }
    reply = await admin.client.post("/categories", json={"name": "Orphan", "parent_id": "0" * 24})
    assert (await _check(reply, document, "create_category"))["code"] == "unknown_parent"
    reply = await admin.client.post(
        "/products", json={"name": "X", "price": 1, "category": "No such category"}
    )
    body = await _check(reply, document, "create_product")
    assert body["code"] == "unknown_category" and body["detail"][0]["loc"] == ["body", "category"]
    many = "&".join(f"tags=t{i}" for i in range(11))
    body = await _check(await client.get(f"/products?{many}"), document, "list_products")
    assert body["code"] == "unprocessable" and body["detail"][0]["loc"] == ["query", "tags"]
    reply = await client.get("/products?min_price=5&max_price=1")
    assert (await _check(reply, document, "list_products"))["code"] == "invalid_price_range"
    shop = Shop(admin.client)
    product = await shop.product()
    reply = await client.get(f"/products/{product['id']}?include_inactive=true")
    assert (await _check(reply, document, "get_product"))["code"] == "not_authenticated"
