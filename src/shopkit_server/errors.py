"""The server's error vocabulary, and the one place that turns errors into JSON.

Every error the services raise is a :class:`ShopError` carrying an HTTP status and a stable
``code``; the handlers below render it as ``{"detail": ..., "code": ...}`` (API.md, Conventions).
Anything else that escapes is answered by ``logging.RequestLogMiddleware``: it logs the traceback
under the request id and sends a bare 500 (:data:`INTERNAL_ERROR_BODY`) that names no internals.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TypeVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = structlog.get_logger("shopkit.errors")


class ShopError(Exception):
    """Base of every error a service raises on purpose."""

    status_code: int = 400
    code: str = "bad_request"
    detail: str = "The request could not be processed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or type(self).detail
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})
        super().__init__(self.detail)


class BadRequest(ShopError):
    status_code = 400
    code = "bad_request"


class NotAuthenticated(ShopError):
    status_code = 401
    code = "not_authenticated"
    detail = "Not authenticated."

    def __init__(self, detail: str | None = None, *, code: str | None = None) -> None:
        super().__init__(detail, code=code, headers={"WWW-Authenticate": "Bearer"})


class InvalidAccessToken(NotAuthenticated):
    code = "invalid_token"
    detail = "Invalid or expired access token."


class PermissionDenied(ShopError):
    status_code = 403
    code = "forbidden"
    detail = "You are not allowed to do this."


class AdminOnly(PermissionDenied):
    detail = "Admins only."


class AccountDisabled(PermissionDenied):
    code = "account_disabled"
    detail = "This account is disabled."


class NotFound(ShopError):
    status_code = 404
    code = "not_found"
    detail = "Not found."


class Conflict(ShopError):
    status_code = 409
    code = "conflict"
    detail = "The request conflicts with the current state."


class Unprocessable(ShopError):
    """A request that passed validation but names something impossible.

    Sent in the validation errors' shape (``detail`` a list of ``{type, loc, msg}``), so every
    422 of the API has one shape: ``type`` is the code, ``loc`` where the problem is.
    """

    status_code = 422
    code = "unprocessable"
    detail = "The request is well-formed but cannot be processed."
    loc: tuple[str, ...] = ("body",)


class TooManyRequests(ShopError):
    """429 with ``Retry-After`` (whole seconds, at least 1)."""

    status_code = 429
    code = "too_many_attempts"
    detail = "Too many attempts; try again later."

    def __init__(self, retry_after: float, detail: str | None = None) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(detail, headers={"Retry-After": str(self.retry_after)})


class TooManyAttempts(TooManyRequests):
    """Too many sign-in (or sign-up) attempts from one address or for one account."""


class ServerBusy(TooManyRequests):
    """Every password check this process may run or queue is taken: come back shortly."""

    code = "server_busy"
    detail = "The server is busy checking passwords; try again shortly."


class UpstreamUnavailable(ShopError):
    status_code = 503
    code = "upstream_unavailable"
    detail = "A service this request depends on did not answer in time."


class StoreUnavailable(ShopError):
    """The database could not be reached or dropped the connection (PostgreSQL): retry later."""

    status_code = 503
    code = "store_unavailable"
    detail = "The database did not answer."


class InvalidCursor(BadRequest):
    code = "invalid_cursor"
    detail = "The cursor is malformed or belongs to another sort; start again without one."


class UpstreamRefused(ShopError):
    """A peer service refused a call for good: its status and code for a refusal of what the
    client asked, else 500 (the services disagree on credentials or routes)."""

    status_code = 500
    code = "upstream_refused"
    detail = "A service this request depends on refused it."

    def __init__(
        self, detail: str | None = None, *, status_code: int = 500, code: str | None = None
    ) -> None:
        super().__init__(detail, code=code)
        self.status_code = status_code


E = TypeVar("E", bound=Callable[..., object])


def raises(*errors: type[ShopError]) -> Callable[[E], E]:
    """Declare the errors a route (or a dependency) can answer with, for the OpenAPI document.

    ``shopkit_server.openapi`` reads the declarations of a route's endpoint and of every
    dependency it uses, and documents each status with the codes these classes carry.
    """

    def mark(func: E) -> E:
        declared: tuple[type[ShopError], ...] = getattr(func, "__shop_errors__", ())
        func.__shop_errors__ = (*declared, *errors)  # type: ignore[attr-defined]
        return func

    return mark


INTERNAL_ERROR_BODY = {"detail": "Internal server error.", "code": "internal_error"}


def _error_body(detail: object, code: str) -> dict[str, object]:
    return {"detail": detail, "code": code}


def shop_error_response(exc: ShopError) -> JSONResponse:
    detail: object = exc.detail
    if isinstance(exc, Unprocessable):
        detail = [{"type": exc.code, "loc": list(exc.loc), "msg": exc.detail}]
    return JSONResponse(
        _error_body(detail, exc.code), status_code=exc.status_code, headers=exc.headers
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> str:
    """Every method some route of this path takes (Starlette names only the first route's)."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]
    return ", ".join(allowed)


def http_error_response(
    exc: StarletteHTTPException, request: Request | None = None
) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "error")
    headers = exc.headers
    if exc.status_code == 405 and request is not None:
        headers = {**(exc.headers or {}), "Allow": _allowed_methods(request)}
    return JSONResponse(_error_body(exc.detail, code), status_code=exc.status_code, headers=headers)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    # FastAPI's own shape, minus the echoed input: a rejected password must never be sent back.
    errors = [
        {key: value for key, value in error.items() if key not in ("input", "ctx", "url")}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors, "code": "validation_error"}, status_code=422)


async def _shop_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShopError)
    return shop_error_response(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return http_error_response(exc, request)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_error_response(exc)


def store_unavailable_response(exc: Exception) -> JSONResponse:
    """The 503 for a store that could not be reached (``store.base.StoreUnreachable``)."""
    log.warning("store_unreachable", error=type(exc.__cause__ or exc).__name__)
    return shop_error_response(StoreUnavailable())


async def _store_unreachable(request: Request, exc: Exception) -> JSONResponse:
    return store_unavailable_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    # Imported here: the store package imports the services' repositories, which may import
    # this module.
    from shopkit_server.store.base import StoreUnreachable

    app.add_exception_handler(ShopError, _shop_error)
    app.add_exception_handler(StoreUnreachable, _store_unreachable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
