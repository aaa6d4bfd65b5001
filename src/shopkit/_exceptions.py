"""Every error the SDK raises, in one tree::

    ShopkitError
    ├── APIConnectionError                 the server was not reached, or did not answer
    │   └── APITimeoutError
    ├── APIResponseValidationError         an answer that does not fit the contract
    └── APIStatusError                     the server answered 4xx/5xx (any other status)
        ├── BadRequestError                400
        │   └── CartEmptyError                 cart_empty
        ├── AuthenticationError            401
        │   ├── InvalidCredentialsError        invalid_credentials
        │   └── InvalidTokenError              invalid_token
        ├── PermissionDeniedError          403
        │   └── AccountDisabledError           account_disabled
        ├── NotFoundError                  404
        │   ├── UserNotFoundError              user_not_found
        │   ├── ProductNotFoundError           product_not_found
        │   ├── CategoryNotFoundError          category_not_found
        │   ├── CartItemNotFoundError          cart_item_not_found
        │   ├── VariantNotFoundError           variant_not_found
        │   └── OrderNotFoundError             order_not_found
        ├── ConflictError                  409
        │   ├── EmailTakenError                email_taken
        │   ├── CannotChangeSelfError          cannot_change_self
        │   ├── SkuTakenError                  sku_taken
        │   ├── DuplicateVariantError          duplicate_variant
        │   ├── CategoryExistsError            category_exists
        │   ├── CategoryInUseError             category_in_use
        │   ├── InsufficientStockError         insufficient_stock
        │   ├── QuantityLimitError             quantity_limit_exceeded
        │   ├── InvalidTransitionError         invalid_transition
        │   ├── IdempotencyKeyReusedError      idempotency_key_reused
        │   └── IdempotencyKeyInProgressError  idempotency_key_in_progress (retried)
        ├── UnprocessableEntityError       422 (``errors`` holds FastAPI's list)
        │   ├── UnknownCategoryError           unknown_category
        │   ├── UnknownParentError             unknown_parent
        │   ├── CategoryCycleError             category_cycle
        │   ├── VariantRequiredError           variant_required
        │   └── OptionValuesInvalidError       option_values_invalid
        ├── RateLimitError                 429
        └── InternalServerError            5xx
            └── ServiceUnavailableError    503
                └── UpstreamUnavailableError   upstream_unavailable

Catch by status (``except ConflictError``) or by meaning (``except InsufficientStockError``);
:func:`make_status_error` is the one place that picks the class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from shopkit._constants import REQUEST_ID_HEADER

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AccountDisabledError",
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
    "OptionValuesInvalidError",
    "OrderNotFoundError",
    "PermissionDeniedError",
    "ProductNotFoundError",
    "QuantityLimitError",
    "RateLimitError",
    "ServiceUnavailableError",
    "ShopkitError",
    "SkuTakenError",
    "UnknownCategoryError",
    "UnknownParentError",
    "UnprocessableEntityError",
    "UpstreamUnavailableError",
    "UserNotFoundError",
    "VariantNotFoundError",
    "VariantRequiredError",
    "make_status_error",
]


class ShopkitError(Exception):
    """Root of every error the SDK raises."""


class APIConnectionError(ShopkitError):
    """The request never got an answer: DNS, refused connection, reset, TLS..."""

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout."""


class APIResponseValidationError(ShopkitError):
    """The server answered with a success status but a body the SDK cannot read."""

    def __init__(self, message: str, *, response: httpx.Response, body: Any = None) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.request_id = response.headers.get(REQUEST_ID_HEADER)


class APIStatusError(ShopkitError):
    """The server answered with an error status.

    ``detail`` is the server's sentence (for a 422, its field errors joined into one line),
    ``code`` its stable snake_case code (``None`` if it sent none), ``body`` the parsed body.
    """

    status_code: int
    code: str | None
    detail: str
    request_id: str | None
    retry_after: float | None

    def __init__(
        self,
        detail: str,
        *,
        response: httpx.Response,
        body: Any = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.response = response
        self.status_code = response.status_code
        self.code = code
        self.detail = detail
        self.body = body
        self.request_id = response.headers.get(REQUEST_ID_HEADER)
        self.retry_after = retry_after
        super().__init__(self._line())

    def _line(self) -> str:
        head = f"{self.status_code} {self.code}" if self.code else str(self.status_code)
        tail = f" (request_id={self.request_id})" if self.request_id else ""
        return f"{head}: {self.detail}{tail}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._line()!r})"


class BadRequestError(APIStatusError):
    """400: the request cannot be carried out as it stands."""


class CartEmptyError(BadRequestError):
    """400 ``cart_empty``: checkout with nothing in the cart."""


class AuthenticationError(APIStatusError):
    """401: no token, a bad or expired one (after one refresh attempt), or wrong credentials."""


class InvalidCredentialsError(AuthenticationError):
    """401 ``invalid_credentials``: wrong email or password."""


class InvalidTokenError(AuthenticationError):
    """401 ``invalid_token``: the token is malformed, revoked, expired or of the wrong type."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed (an admin-only endpoint, say)."""


class AccountDisabledError(PermissionDeniedError):
    """403 ``account_disabled``: an admin deactivated this account."""


class NotFoundError(APIStatusError):
    """404: missing, malformed id, or someone else's (the server never says which)."""


class UserNotFoundError(NotFoundError):
    """404 ``user_not_found``."""


class ProductNotFoundError(NotFoundError):
    """404 ``product_not_found``: the product is missing or inactive."""


class CategoryNotFoundError(NotFoundError):
    """404 ``category_not_found``."""


class CartItemNotFoundError(NotFoundError):
    """404 ``cart_item_not_found``: that product has no line in the cart."""


class VariantNotFoundError(NotFoundError):
    """404 ``variant_not_found``: the product has no such variant (or no longer sells it)."""


class OrderNotFoundError(NotFoundError):
    """404 ``order_not_found``: missing, or not the caller's."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state."""


class EmailTakenError(ConflictError):
    """409 ``email_taken``."""


class CannotChangeSelfError(ConflictError):
    """409 ``cannot_change_self``: an admin cannot demote or disable their own account."""


class SkuTakenError(ConflictError):
    """409 ``sku_taken``."""


class DuplicateVariantError(ConflictError):
    """409 ``duplicate_variant``: another variant of the product has these option values or
    this sku."""


class CategoryExistsError(ConflictError):
    """409 ``category_exists``."""


class CategoryInUseError(ConflictError):
    """409 ``category_in_use``: products or sub-categories still use it."""


class InsufficientStockError(ConflictError):
    """409 ``insufficient_stock``: the detail names the products."""


class QuantityLimitError(ConflictError):
    """409 ``quantity_limit_exceeded``: a cart line holds at most 99 units."""


class InvalidTransitionError(ConflictError):
    """409 ``invalid_transition``: that order status move is not allowed."""


class IdempotencyKeyReusedError(ConflictError):
    """409 ``idempotency_key_reused``: the same Idempotency-Key with a different body."""


class IdempotencyKeyInProgressError(ConflictError):
    """409 ``idempotency_key_in_progress``: the first request with this key is still running.

    The client retries this one by itself (the key makes it safe); you see it only when the
    retries run out.
    """


class UnprocessableEntityError(APIStatusError):
    """422: validation failed; ``errors`` is FastAPI's list of ``{loc, msg, type}``."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        detail = self.body.get("detail") if isinstance(self.body, Mapping) else None
        return [e for e in detail if isinstance(e, dict)] if isinstance(detail, list) else []


class UnknownCategoryError(UnprocessableEntityError):
    """422 ``unknown_category``: a product names a category that does not exist."""


class UnknownParentError(UnprocessableEntityError):
    """422 ``unknown_parent``: the parent category does not exist."""


class CategoryCycleError(UnprocessableEntityError):
    """422 ``category_cycle``: a category cannot be its own ancestor."""


class VariantRequiredError(UnprocessableEntityError):
    """422 ``variant_required``: the product has several variants; name one (``variant_id``),
    or set stock per variant."""


class OptionValuesInvalidError(UnprocessableEntityError):
    """422 ``option_values_invalid``: a variant must give one allowed value of each option."""


class RateLimitError(APIStatusError):
    """429: slow down; ``retry_after`` says for how long, when the server said so."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class ServiceUnavailableError(InternalServerError):
    """503: the service or its store is not available right now."""


class UpstreamUnavailableError(ServiceUnavailableError):
    """503 ``upstream_unavailable``: a service this one depends on did not answer."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}

_BY_CODE: dict[str, type[APIStatusError]] = {
    "cart_empty": CartEmptyError,
    "invalid_credentials": InvalidCredentialsError,
    "invalid_token": InvalidTokenError,
    "account_disabled": AccountDisabledError,
    "user_not_found": UserNotFoundError,
    "product_not_found": ProductNotFoundError,
    "category_not_found": CategoryNotFoundError,
    "cart_item_not_found": CartItemNotFoundError,
    "order_not_found": OrderNotFoundError,
    "email_taken": EmailTakenError,
    "cannot_change_self": CannotChangeSelfError,
    "sku_taken": SkuTakenError,
    "category_exists": CategoryExistsError,
    "category_in_use": CategoryInUseError,
    "insufficient_stock": InsufficientStockError,
    "quantity_limit_exceeded": QuantityLimitError,
    "invalid_transition": InvalidTransitionError,
    "idempotency_key_reused": IdempotencyKeyReusedError,
    "idempotency_key_in_progress": IdempotencyKeyInProgressError,
    "unknown_category": UnknownCategoryError,
    "unknown_parent": UnknownParentError,
    "category_cycle": CategoryCycleError,
    "variant_not_found": VariantNotFoundError,
    "duplicate_variant": DuplicateVariantError,
    "variant_required": VariantRequiredError,
    "option_values_invalid": OptionValuesInvalidError,
    "upstream_unavailable": UpstreamUnavailableError,
}


def error_class_for(status: int, code: str | None) -> type[APIStatusError]:
    """The most specific class for a status and code.

    A code only picks its class when it came with the status that class stands for: a server
    that one day sends ``insufficient_stock`` with a 400 gets a ``BadRequestError``, not an
    ``InsufficientStockError`` that ``except ConflictError`` would wrongly catch.
    """
    by_status = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    by_code = _BY_CODE.get(code) if code else None
    if by_code is not None and issubclass(by_code, by_status):
        return by_code
    return by_status


def make_status_error(
    response: httpx.Response, body: Any, *, retry_after: float | None = None
) -> APIStatusError:
    """Build the exception for an error response (``body`` is its parsed JSON, or None)."""
    code: str | None = None
    raw_detail: Any = None
    if isinstance(body, Mapping):
        code = body.get("code") if isinstance(body.get("code"), str) else None
        raw_detail = body.get("detail")
    detail = _render_detail(raw_detail) or _fallback_detail(response)
    cls = error_class_for(response.status_code, code)
    return cls(detail, response=response, body=body, code=code, retry_after=retry_after)


def _render_detail(detail: Any) -> str:
    """One line from the server's ``detail``: a sentence, or FastAPI's list of field errors."""
    if isinstance(detail, str):
        return detail.strip()
    if isinstance(detail, list):
        return "; ".join(_render_field_error(item) for item in detail)
    if detail is None:
        return ""
    return str(detail)


def _render_field_error(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    loc = item.get("loc")
    msg = str(item.get("msg", "invalid"))
    if isinstance(loc, list | tuple) and loc:
        parts = [str(p) for p in loc]
        # "body.price" says less than "price" to someone who called create(price=...).
        if parts[0] == "body" and len(parts) > 1:
            parts = parts[1:]
        return f"{'.'.join(parts)}: {msg}"
    return msg


def _fallback_detail(response: httpx.Response) -> str:
    text = response.text.strip()
    if text and len(text) <= 200 and "<" not in text:  # a short plain-text body, not an HTML page
        return text
    return response.reason_phrase or "HTTP error"
