"""The public surface: what ``import shopkit`` offers, and what it costs."""

from __future__ import annotations

import json
import subprocess
import sys

import shopkit
import shopkit.types

EXPECTED_ALL = {
    "APIConnectionError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccountDisabledError",
    "AsyncPage",
    "AsyncShopClient",
    "AuthenticationError",
    "BadRequestError",
    "CannotChangeSelfError",
    "CartEmptyError",
    "CartItemNotFoundError",
    "CategoryCycleError",
    "CategoryExistsError",
    "CategoryInUseError",
    "CategoryNotFoundError",
    "ConflictError",
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "EmailTakenError",
    "IdempotencyKeyInProgressError",
    "IdempotencyKeyReusedError",
    "InsufficientStockError",
    "InternalServerError",
    "InvalidCredentialsError",
    "InvalidTokenError",
    "InvalidTransitionError",
    "NOT_GIVEN",
    "NotFoundError",
    "NotGiven",
    "OrderNotFoundError",
    "PermissionDeniedError",
    "ProductNotFoundError",
    "QuantityLimitError",
    "RateLimitError",
    "RequestOptions",
    "ServiceUnavailableError",
    "ShopkitError",
    "ShopClient",
    "SkuTakenError",
    "DuplicateVariantError",
    "OptionValuesInvalidError",
    "VariantNotFoundError",
    "VariantRequiredError",
    "SyncPage",
    "TokenCallback",
    "UnknownCategoryError",
    "UnknownParentError",
    "UnprocessableEntityError",
    "UpstreamUnavailableError",
    "UserNotFoundError",
    "__version__",
}

EXPECTED_TYPES = {
    "CartMerge",
    "MergedLine",
    "SavedAddress",
    "Address",
    "AuthResult",
    "BulkFailure",
    "BulkResult",
    "Cart",
    "CartItem",
    "Category",
    "Health",
    "Money",
    "Order",
    "OrderItem",
    "OrderStatus",
    "PaymentIntent",
    "Product",
    "ProductImage",
    "ProductInput",
    "ProductOption",
    "ProductSort",
    "ImageInput",
    "OptionInput",
    "Variant",
    "VariantInput",
    "VariantPatchInput",
    "Role",
    "SearchSort",
    "ShopkitModel",
    "StatusChange",
    "TokenPair",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookWithSecret",
}


def test_all_is_pinned() -> None:
    # Adding a name is a decision: update this list in the same change.
    assert set(shopkit.__all__) == EXPECTED_ALL
    assert len(shopkit.__all__) == len(EXPECTED_ALL)


def test_every_exported_name_exists() -> None:
    for name in shopkit.__all__:
        assert hasattr(shopkit, name), name
    for name in shopkit.types.__all__:
        assert hasattr(shopkit.types, name), name


def test_types_all_is_pinned() -> None:
    assert set(shopkit.types.__all__) == EXPECTED_TYPES


def test_every_error_derives_from_shopkit_error() -> None:
    for name in shopkit.__all__:
        obj = getattr(shopkit, name)
        if isinstance(obj, type) and name.endswith("Error"):
            assert issubclass(obj, shopkit.ShopkitError), name


def test_package_ships_py_typed() -> None:
    from importlib.resources import files

    assert files("shopkit").joinpath("py.typed").is_file()


HEAVY = [
    "fastapi",
    "starlette",
    "uvicorn",
    "aiosqlite",
    "pymongo",
    "bson",
    "shopkit_server",
    "shopkit_cli",
    "bcrypt",
    "jwt",
]


def test_import_stays_light() -> None:
    """``import shopkit`` (and using the client) pulls in no server, framework or driver."""
    code = (
        "import json, sys\n"
        "import shopkit, shopkit.types\n"
        "shopkit.AsyncShopClient(base_url='http://x/api')\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(out.stdout) == []
