"""shopkit SDK: typed clients for the shopkit API, ``ShopClient`` (sync) and
``AsyncShopClient``.

::

    with shopkit.ShopClient(base_url="http://localhost:8000/api") as shop:
        shop.auth.login(email="ada@example.com", password="...")
        for product in shop.products.iterate(category="Electronics"):
            print(product.name, product.price)

    import shopkit

    async with shopkit.AsyncShopClient(base_url="http://localhost:8000/api") as shop:
        await shop.auth.login(email="ada@example.com", password="...")
        async for product in shop.products.iterate(category="Electronics"):
            print(product.name, product.price)
"""

from shopkit._base_client import TokenCallback
from shopkit._client import AsyncShopClient
from shopkit._constants import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from shopkit._exceptions import (
    AccountDisabledError,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CannotChangeSelfError,
    CartEmptyError,
    CartItemNotFoundError,
    CategoryCycleError,
    CategoryExistsError,
    CategoryInUseError,
    CategoryNotFoundError,
    ConflictError,
    DuplicateVariantError,
    EmailTakenError,
    IdempotencyKeyInProgressError,
    IdempotencyKeyReusedError,
    InsufficientStockError,
    InternalServerError,
    InvalidCredentialsError,
    InvalidTokenError,
    InvalidTransitionError,
    NotFoundError,
    OptionValuesInvalidError,
    OrderNotFoundError,
    PermissionDeniedError,
    ProductNotFoundError,
    QuantityLimitError,
    RateLimitError,
    ServiceUnavailableError,
    ShopkitError,
    SkuTakenError,
    UnknownCategoryError,
    UnknownParentError,
    UnprocessableEntityError,
    UpstreamUnavailableError,
    UserNotFoundError,
    VariantNotFoundError,
    VariantRequiredError,
)
from shopkit._logs import setup_logging as _setup_logging
from shopkit._raw import APIResponse
from shopkit._sync._client import ShopClient
from shopkit._types import NOT_GIVEN, NotGiven, RequestOptions
from shopkit._version import __version__
from shopkit.pagination import AsyncPage, SyncPage

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
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
    "DuplicateVariantError",
    "EmailTakenError",
    "IdempotencyKeyInProgressError",
    "IdempotencyKeyReusedError",
    "InsufficientStockError",
    "InternalServerError",
    "InvalidCredentialsError",
    "InvalidTokenError",
    "InvalidTransitionError",
    "NotFoundError",
    "NotGiven",
    "OptionValuesInvalidError",
    "OrderNotFoundError",
    "PermissionDeniedError",
    "ProductNotFoundError",
    "QuantityLimitError",
    "RateLimitError",
    "RequestOptions",
    "ServiceUnavailableError",
    "ShopClient",
    "ShopkitError",
    "SkuTakenError",
    "SyncPage",
    "TokenCallback",
    "UnknownCategoryError",
    "UnknownParentError",
    "UnprocessableEntityError",
    "UpstreamUnavailableError",
    "UserNotFoundError",
    "VariantNotFoundError",
    "VariantRequiredError",
    "__version__",
]

_setup_logging()
