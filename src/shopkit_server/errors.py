"""The server's error vocabulary, and the one place that turns errors into JSON.

Every error the services raise is a :class:`ShopError` carrying an HTTP status and a stable
``code``; the handlers below render it as ``{"detail": ..., "code": ...}`` (API.md, Conventions).
Anything else that escapes is logged with its traceback and answered with a bare 500 that names
no internals.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


class PermissionDenied(ShopError):
    status_code = 403
    code = "forbidden"
    detail = "You are not allowed to do this."


class NotFound(ShopError):
    status_code = 404
    code = "not_found"
    detail = "Not found."


class Conflict(ShopError):
    status_code = 409
    code = "conflict"
    detail = "The request conflicts with the current state."


class Unprocessable(ShopError):
    status_code = 422
    code = "unprocessable"
    detail = "The request is well-formed but cannot be processed."


class UpstreamUnavailable(ShopError):
    status_code = 503
    code = "upstream_unavailable"
    detail = "A service this request depends on did not answer in time."


class StoreUnavailable(ShopError):
    status_code = 503
    code = "store_unavailable"
    detail = "The database did not answer."


INTERNAL_ERROR_BODY = {"detail": "Internal server error.", "code": "internal_error"}


def _error_body(detail: object, code: str) -> dict[str, object]:
    return {"detail": detail, "code": code}


async def _shop_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShopError)
    return JSONResponse(
        _error_body(exc.detail, exc.code), status_code=exc.status_code, headers=exc.headers
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


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    return JSONResponse(
        _error_body(exc.detail, code), status_code=exc.status_code, headers=exc.headers
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # FastAPI's own shape, minus the echoed input: a rejected password must never be sent back.
    errors = [
        {key: value for key, value in error.items() if key not in ("input", "ctx", "url")}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors, "code": "validation_error"}, status_code=422)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled_error", exc_info=exc)
    return JSONResponse(_error_body("Internal server error.", "internal_error"), status_code=500)


async def _store_unreachable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("store_unreachable", error=type(exc.__cause__ or exc).__name__)
    unavailable = StoreUnavailable()
    return JSONResponse(
        _error_body(unavailable.detail, unavailable.code), status_code=unavailable.status_code
    )


def install_error_handlers(app: FastAPI) -> None:
    # Imported here: the store package imports the services' repositories, which may import
    # this module.
    from shopkit_server.store.base import StoreUnreachable

    app.add_exception_handler(ShopError, _shop_error)
    app.add_exception_handler(StoreUnreachable, _store_unreachable)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
