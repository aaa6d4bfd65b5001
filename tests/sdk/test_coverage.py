"""The SDK and the server cannot drift apart: every route has a method, every method a live test.

When the server gains a route this fails until the SDK wraps it; when the SDK gains a method it
fails until a ``test_live_*.py`` calls it against the real app.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from fastapi import FastAPI

from shopkit import AsyncShopClient

# (HTTP method, path in the all-in-one app) -> the SDK method that calls it.
SDK_ROUTES = {
    ("POST", "/api/auth/register"): "auth.register",
    ("POST", "/api/auth/login"): "auth.login",
    ("POST", "/api/auth/refresh"): "auth.refresh",
    ("POST", "/api/auth/logout"): "auth.logout",
    ("GET", "/api/auth/me"): "auth.me",
    ("PATCH", "/api/auth/me"): "auth.update_me",
    ("POST", "/api/auth/change-password"): "auth.change_password",
    ("GET", "/api/auth/users"): "users.list",
    ("PATCH", "/api/auth/users/{user_id}"): "users.update",
    ("POST", "/api/auth/users/{user_id}/password-reset"): "users.send_password_reset",
    ("POST", "/api/auth/users/{user_id}/verification"): "users.send_verification",
    ("POST", "/api/auth/password-reset"): "auth.request_password_reset",
    ("POST", "/api/auth/password-reset/confirm"): "auth.confirm_password_reset",
    ("POST", "/api/auth/verify-email"): "auth.verify_email",
    ("POST", "/api/auth/verify-email/resend"): "auth.resend_verification",
    ("GET", "/api/auth/me/addresses"): "addresses.list",
    ("POST", "/api/auth/me/addresses"): "addresses.create",
    ("GET", "/api/auth/me/addresses/{address_id}"): "addresses.get",
    ("PATCH", "/api/auth/me/addresses/{address_id}"): "addresses.update",
    ("DELETE", "/api/auth/me/addresses/{address_id}"): "addresses.delete",
    ("GET", "/api/products"): "products.list",
    ("POST", "/api/products"): "products.create",
    ("GET", "/api/products/search"): "products.search",
    ("GET", "/api/products/featured"): "products.featured",
    ("POST", "/api/products/bulk"): "products.bulk",
    ("GET", "/api/products/{product_id}"): "products.get",
    ("PATCH", "/api/products/{product_id}"): "products.update",
    ("DELETE", "/api/products/{product_id}"): "products.delete",
    ("POST", "/api/products/{product_id}/variants"): "products.variants.create",
    ("PATCH", "/api/products/{product_id}/variants/{variant_id}"): "products.variants.update",
    ("DELETE", "/api/products/{product_id}/variants/{variant_id}"): "products.variants.delete",
    ("GET", "/api/categories"): "categories.list",
    ("POST", "/api/categories"): "categories.create",
    ("GET", "/api/categories/{category_id}"): "categories.get",
    ("PATCH", "/api/categories/{category_id}"): "categories.update",
    ("DELETE", "/api/categories/{category_id}"): "categories.delete",
    ("GET", "/api/cart"): "cart.get",
    ("DELETE", "/api/cart"): "cart.clear",
    ("POST", "/api/cart/items"): "cart.add_item",
    ("PATCH", "/api/cart/items/{item_id}"): "cart.update_item",
    ("DELETE", "/api/cart/items/{item_id}"): "cart.remove_item",
    ("GET", "/api/orders"): "orders.list",
    ("POST", "/api/orders"): "orders.create",
    ("GET", "/api/orders/{order_id}"): "orders.get",
    ("PATCH", "/api/orders/{order_id}/status"): "orders.update_status",
    ("POST", "/api/orders/{order_id}/cancel"): "orders.cancel",
    ("POST", "/api/orders/{order_id}/payments"): "payments.record",
    ("POST", "/api/orders/{order_id}/payment-intent"): "payments.intent",
    ("GET", "/api/webhooks"): "webhooks.list",
    ("POST", "/api/webhooks"): "webhooks.create",
    ("GET", "/api/webhooks/{webhook_id}"): "webhooks.get",
    ("PATCH", "/api/webhooks/{webhook_id}"): "webhooks.update",
    ("DELETE", "/api/webhooks/{webhook_id}"): "webhooks.delete",
    ("GET", "/api/webhooks/{webhook_id}/deliveries"): "webhooks.deliveries",
    ("POST", "/api/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"): "webhooks.replay",
    ("GET", "/health"): "health",
}
# Routes only a payment provider calls (signed by it): no SDK method on purpose.
PROVIDER_ROUTES = {("POST", "/api/payments/stripe/webhook")}

RESOURCES = [
    "auth",
    "users",
    "addresses",
    "products",
    "categories",
    "cart",
    "orders",
    "payments",
    "webhooks",
]


def _public_methods() -> set[str]:
    client = AsyncShopClient(base_url="http://unused/api")
    names = {"health"}
    for resource in RESOURCES:
        for name, member in inspect.getmembers(getattr(client, resource)):
            if not name.startswith("_") and callable(member):
                names.add(f"{resource}.{name}")
    for name, member in inspect.getmembers(client.products.variants):  # a nested resource
        if not name.startswith("_") and callable(member):
            names.add(f"products.variants.{name}")
    return names


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_server_route_has_an_sdk_method(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    assert routes == set(SDK_ROUTES) | PROVIDER_ROUTES
    assert set(SDK_ROUTES.values()) <= _public_methods()


def test_every_sdk_method_is_called_in_a_live_test() -> None:
    live = "\n".join(p.read_text() for p in Path(__file__).parent.glob("test_live_*.py"))
    untested = sorted(name for name in _public_methods() if f".{name}(" not in live)
    assert untested == []
