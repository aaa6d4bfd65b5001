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
        │   └── ProductNotFoundError           product_not_found
        ├── ConflictError                  409
        │   ├── EmailTakenError                email_taken
        │   ├── SkuTakenError                  sku_taken
        │   ├── CategoryExistsError            category_exists
        │   ├── CategoryInUseError             category_in_use
        │   ├── InsufficientStockError         insufficient_stock
        │   ├── InvalidTransitionError         invalid_transition
        │   └── IdempotencyKeyReusedError      idempotency_key_reused
        ├── UnprocessableEntityError       422 (``errors`` holds FastAPI's list)
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
    "CartEmptyError",
    "CategoryExistsError",
    "CategoryInUseError",
    "ConflictError",
    "EmailTakenError",
    "IdempotencyKeyReusedError",
    "InsufficientStockError",
    "InternalServerError",
    "InvalidCredentialsError",
    "InvalidTokenError",
    "InvalidTransitionError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProductNotFoundError",
    "RateLimitError",
    "ServiceUnavailableError",
    "ShopkitError",
    "SkuTakenError",
    "UnprocessableEntityError",
    "UpstreamUnavailableError",
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


class ProductNotFoundError(NotFoundError):
    """404 ``product_not_found``: the product is missing or inactive."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state."""


class EmailTakenError(ConflictError):
    """409 ``email_taken``."""


class SkuTakenError(ConflictError):
    """409 ``sku_taken``."""


class CategoryExistsError(ConflictError):
    """409 ``category_exists``."""


class CategoryInUseError(ConflictError):
    """409 ``category_in_use``: products or sub-categories still use it."""


class InsufficientStockError(ConflictError):
    """409 ``insufficient_stock``: the detail names the products."""


class InvalidTransitionError(ConflictError):
    """409 ``invalid_transition``: that order status move is not allowed."""


class IdempotencyKeyReusedError(ConflictError):
    """409 ``idempotency_key_reused``: the same Idempotency-Key with a different body."""


class UnprocessableEntityError(APIStatusError):
    """422: validation failed; ``errors`` is FastAPI's list of ``{loc, msg, type}``."""

    @property
    def errors(self) -> list[dict[str, Any]]:
        detail = self.body.get("detail") if isinstance(self.body, Mapping) else None
        return [e for e in detail if isinstance(e, dict)] if isinstance(detail, list) else []


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
    "product_not_found": ProductNotFoundError,
    "email_taken": EmailTakenError,
    "sku_taken": SkuTakenError,
    "category_exists": CategoryExistsError,
    "category_in_use": CategoryInUseError,
    "insufficient_stock": InsufficientStockError,
    "invalid_transition": InvalidTransitionError,
    "idempotency_key_reused": IdempotencyKeyReusedError,
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
