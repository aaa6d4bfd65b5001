"""``client.cart``: the logged-in user's cart, or a guest cart.

Without an access token the first ``add_item`` opens a guest cart; the client keeps its token
(``client.cart_token``), sends it on every cart call and hands it over at login or
registration, where the guest cart is merged into the account's.
"""

from __future__ import annotations

from typing import Unpack

from shopkit._types import RequestOptions
from shopkit.resources._resource import AsyncAPIResource, segment
from shopkit.types.cart import Cart


class AsyncCart(AsyncAPIResource):
    async def get(self, **options: Unpack[RequestOptions]) -> Cart:
        """The cart (empty if the user never had one)."""
        return await self._send("GET", "/cart", options=options)

    async def add_item(
        self,
        product_id: str,
        *,
        variant_id: str | None = None,
        quantity: int = 1,
        **options: Unpack[RequestOptions],
    ) -> Cart:
        """Add ``quantity`` of a variant, on top of what the cart already holds.

        ``variant_id`` may be left out only for a product with one variant (else
        :class:`~shopkit.VariantRequiredError`).
        """
        body: dict[str, object] = {"product_id": product_id, "quantity": quantity}
        if variant_id is not None:
            body["variant_id"] = variant_id
        return await self._send("POST", "/cart/items", body, options=options)

    async def update_item(
        self, item_id: str, *, quantity: int, **options: Unpack[RequestOptions]
    ) -> Cart:
        """Set a line's quantity; 0 removes the line. ``item_id`` is the line's variant id
        (a single-variant product's id works too)."""
        return await self._send(
            "PATCH", f"/cart/items/{segment(item_id)}", {"quantity": quantity}, options=options
        )

    async def remove_item(self, item_id: str, **options: Unpack[RequestOptions]) -> Cart:
        """Remove a line by its variant id (fine if it is not there)."""
        return await self._send("DELETE", f"/cart/items/{segment(item_id)}", options=options)

    async def clear(self, **options: Unpack[RequestOptions]) -> None:
        """Empty the cart."""
        await self._client.request("DELETE", "/cart", headers=self._guest_header(), options=options)

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, object] | None = None,
        *,
        options: RequestOptions,
    ) -> Cart:
        headers = self._guest_header()
        if body is None:
            response = await self._client.request(method, path, headers=headers, options=options)
        else:
            response = await self._client.request(
                method, path, json=body, headers=headers, options=options
            )
        cart: Cart = self._client.parse(Cart, response)
        if cart.cart_token:
            self._client.cart_token = cart.cart_token
        return cart

    def _guest_header(self) -> dict[str, str]:
        token = self._client.cart_token
        if token and self._client.access_token is None and self._client.refresh_token is None:
            return {"X-Cart-Token": token}
        return {}
