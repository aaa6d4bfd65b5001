"""The README's "Testing your integration" example, as a test (kept in step by hand)."""

import respx

import shopkit


@respx.mock(base_url="http://shop.test/api")
def test_out_of_stock_is_shown(respx_mock: respx.MockRouter) -> None:
    respx_mock.post("/cart/items").respond(
        409, json={"detail": "Not enough stock for Kettle.", "code": "insufficient_stock"}
    )
    with shopkit.ShopClient(base_url="http://shop.test/api", access_token="t") as shop:
        try:
            shop.cart.add_item("p1", quantity=9)
        except shopkit.InsufficientStockError as exc:
            assert exc.status_code == 409 and exc.code == "insufficient_stock"
        else:
            raise AssertionError("expected InsufficientStockError")
