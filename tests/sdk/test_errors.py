"""Error mapping: every status and code to its class, and a readable one-line message."""

from __future__ import annotations

import httpx
import pytest
import respx

import shopkit
from shopkit import AsyncShopClient
from shopkit._exceptions import error_class_for, make_status_error
from tests.sdk.payloads import BASE

BY_STATUS = [
    (400, shopkit.BadRequestError),
    (401, shopkit.AuthenticationError),
    (403, shopkit.PermissionDeniedError),
    (404, shopkit.NotFoundError),
    (409, shopkit.ConflictError),
    (422, shopkit.UnprocessableEntityError),
    (429, shopkit.RateLimitError),
    (500, shopkit.InternalServerError),
    (502, shopkit.InternalServerError),
    (503, shopkit.ServiceUnavailableError),
    (504, shopkit.InternalServerError),
]

BY_CODE = [
    (400, "cart_empty", shopkit.CartEmptyError, shopkit.BadRequestError),
    (401, "invalid_credentials", shopkit.InvalidCredentialsError, shopkit.AuthenticationError),
    (401, "invalid_token", shopkit.InvalidTokenError, shopkit.AuthenticationError),
    (403, "account_disabled", shopkit.AccountDisabledError, shopkit.PermissionDeniedError),
    (404, "user_not_found", shopkit.UserNotFoundError, shopkit.NotFoundError),
    (404, "product_not_found", shopkit.ProductNotFoundError, shopkit.NotFoundError),
    (404, "category_not_found", shopkit.CategoryNotFoundError, shopkit.NotFoundError),
    (404, "cart_item_not_found", shopkit.CartItemNotFoundError, shopkit.NotFoundError),
    (404, "order_not_found", shopkit.OrderNotFoundError, shopkit.NotFoundError),
    (409, "cannot_change_self", shopkit.CannotChangeSelfError, shopkit.ConflictError),
    (409, "quantity_limit_exceeded", shopkit.QuantityLimitError, shopkit.ConflictError),
    (
        409,
        "idempotency_key_in_progress",
        shopkit.IdempotencyKeyInProgressError,
        shopkit.ConflictError,
    ),
    (422, "unknown_category", shopkit.UnknownCategoryError, shopkit.UnprocessableEntityError),
    (422, "unknown_parent", shopkit.UnknownParentError, shopkit.UnprocessableEntityError),
    (422, "category_cycle", shopkit.CategoryCycleError, shopkit.UnprocessableEntityError),
    (409, "email_taken", shopkit.EmailTakenError, shopkit.ConflictError),
    (409, "sku_taken", shopkit.SkuTakenError, shopkit.ConflictError),
    (409, "duplicate_variant", shopkit.DuplicateVariantError, shopkit.ConflictError),
    (404, "variant_not_found", shopkit.VariantNotFoundError, shopkit.NotFoundError),
    (422, "variant_required", shopkit.VariantRequiredError, shopkit.UnprocessableEntityError),
    (
        422,
        "option_values_invalid",
        shopkit.OptionValuesInvalidError,
        shopkit.UnprocessableEntityError,
    ),
    (409, "category_exists", shopkit.CategoryExistsError, shopkit.ConflictError),
    (409, "category_in_use", shopkit.CategoryInUseError, shopkit.ConflictError),
    (409, "insufficient_stock", shopkit.InsufficientStockError, shopkit.ConflictError),
    (409, "invalid_transition", shopkit.InvalidTransitionError, shopkit.ConflictError),
    (409, "idempotency_key_reused", shopkit.IdempotencyKeyReusedError, shopkit.ConflictError),
    (
        503,
        "upstream_unavailable",
        shopkit.UpstreamUnavailableError,
        shopkit.ServiceUnavailableError,
    ),
]


def _response(
    status: int, body: object = None, headers: dict[str, str] | None = None, text: str | None = None
) -> httpx.Response:
    request = httpx.Request("GET", f"{BASE}/x")
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(("status", "cls"), BY_STATUS)
async def test_each_status_maps_to_its_class(
    api: respx.MockRouter, shop: AsyncShopClient, status: int, cls: type[Exception]
) -> None:
    api.get("/auth/me").respond(
        status, json={"detail": "Nope.", "code": "whatever"}, headers={"X-Request-ID": "rid-1"}
    )
    with pytest.raises(cls) as info:
        await shop.with_options(max_retries=0).auth.me()
    err = info.value
    assert type(err) is cls  # an unknown code falls back to the status class
    assert isinstance(err, shopkit.APIStatusError)
    assert err.status_code == status
    assert err.code == "whatever"
    assert err.detail == "Nope."
    assert err.request_id == "rid-1"
    assert err.response.status_code == status


@pytest.mark.parametrize(("status", "code", "cls", "parent"), BY_CODE)
async def test_each_code_maps_to_its_subclass(
    api: respx.MockRouter,
    shop: AsyncShopClient,
    status: int,
    code: str,
    cls: type[Exception],
    parent: type[Exception],
) -> None:
    api.get("/cart").respond(status, json={"detail": f"Because {code}.", "code": code})
    with pytest.raises(parent) as info:  # catchable by status...
        await shop.with_options(max_retries=0).cart.get()
    assert type(info.value) is cls  # ...and by meaning
    assert info.value.code == code


def test_every_mapped_code_class_is_exported_and_under_its_status() -> None:
    from shopkit._exceptions import _BY_CODE

    assert {code for _, code, _, _ in BY_CODE} == set(_BY_CODE)  # none left untested
    for status, code, cls, parent in BY_CODE:
        assert error_class_for(status, code) is cls
        assert issubclass(cls, parent)
        assert getattr(shopkit, cls.__name__) is cls


def test_a_code_with_an_unexpected_status_keeps_the_status_class() -> None:
    # insufficient_stock is a 409; sent with a 400 it must not become a ConflictError.
    assert error_class_for(400, "insufficient_stock") is shopkit.BadRequestError
    assert error_class_for(418, None) is shopkit.APIStatusError
    assert error_class_for(599, None) is shopkit.InternalServerError


def test_message_is_one_readable_line() -> None:
    err = make_status_error(
        _response(409, headers={"X-Request-ID": "abc123"}, body=None),
        {"detail": "Not enough stock for product(s): p1.", "code": "insufficient_stock"},
    )
    assert str(err) == (
        "409 insufficient_stock: Not enough stock for product(s): p1. (request_id=abc123)"
    )
    assert "\n" not in str(err)
    assert "InsufficientStockError" in repr(err)


def test_validation_errors_render_as_fields() -> None:
    body = {
        "detail": [
            {"type": "value_error", "loc": ["body", "email"], "msg": "value is not a valid email"},
            {
                "type": "less_than_equal",
                "loc": ["query", "page_size"],
                "msg": "Input should be less than or equal to 100",
            },
        ],
        "code": "validation_error",
    }
    err = make_status_error(_response(422, body), body)
    assert isinstance(err, shopkit.UnprocessableEntityError)
    assert str(err) == (
        "422 validation_error: email: value is not a valid email; "
        "query.page_size: Input should be less than or equal to 100"
    )
    assert [e["loc"] for e in err.errors] == [["body", "email"], ["query", "page_size"]]


def test_non_json_error_body_still_gives_a_message() -> None:
    plain = make_status_error(_response(502, text="upstream went away"), None)
    assert isinstance(plain, shopkit.InternalServerError)
    assert str(plain) == "502: upstream went away"
    html = make_status_error(_response(502, text="<html>" + "x" * 500 + "</html>"), None)
    assert str(html) == "502: Bad Gateway"  # the reason phrase, not a page of HTML
    assert html.code is None


async def test_connection_error_is_apart_from_status_errors(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    api.get("/auth/me").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(shopkit.APIConnectionError) as info:
        await shop.with_options(max_retries=0).auth.me()
    assert not isinstance(info.value, shopkit.APIStatusError)
    assert not isinstance(info.value, shopkit.APITimeoutError)
    assert "GET http://shop.test/api/auth/me" in str(info.value)
    assert "connection refused" in str(info.value)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


async def test_timeout_is_an_api_timeout_error(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    api.get("/auth/me").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(shopkit.APITimeoutError) as info:
        await shop.with_options(max_retries=0).auth.me()
    assert isinstance(info.value, shopkit.APIConnectionError)
    assert "timed out" in str(info.value)


async def test_a_success_body_that_breaks_the_contract_is_a_validation_error(
    api: respx.MockRouter, shop: AsyncShopClient
) -> None:
    api.get("/auth/me").respond(200, json={"id": "u1"})
    with pytest.raises(shopkit.APIResponseValidationError) as info:
        await shop.auth.me()
    assert "does not match User" in str(info.value)
    assert info.value.body == {"id": "u1"}
    api.get("/cart").respond(200, text="<html>gateway</html>")
    with pytest.raises(shopkit.APIResponseValidationError, match="not JSON"):
        await shop.cart.get()


def test_rate_limit_error_carries_retry_after() -> None:
    err = make_status_error(
        _response(429, {"detail": "Slow down."}), {"detail": "Slow down."}, retry_after=3.0
    )
    assert isinstance(err, shopkit.RateLimitError)
    assert err.retry_after == 3.0
    assert str(err) == "429: Slow down."
