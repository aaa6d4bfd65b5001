"""``client.addresses``: the logged-in user's address book (at most 20, one default)."""

from __future__ import annotations

from typing import Unpack

from shopkit._types import NOT_GIVEN, NotGiven, RequestOptions, strip_not_given
from shopkit.resources._resource import AsyncAPIResource, segment
from shopkit.types._base import ShopkitModel
from shopkit.types.orders import Address, SavedAddress


class AddressBook(ShopkitModel):
    items: list[SavedAddress]


class AsyncAddresses(AsyncAPIResource):
    async def list(self, **options: Unpack[RequestOptions]) -> list[SavedAddress]:
        """Every saved address, oldest first."""
        response = await self._client.request("GET", "/auth/me/addresses", options=options)
        book: AddressBook = self._client.parse(AddressBook, response)
        return book.items

    async def create(
        self,
        address: Address | dict[str, object],
        *,
        is_default: bool = False,
        **options: Unpack[RequestOptions],
    ) -> SavedAddress:
        """Save an address (the first one saved is the default)."""
        fields = address.model_dump() if isinstance(address, Address) else dict(address)
        response = await self._client.request(
            "POST",
            "/auth/me/addresses",
            json={**fields, "is_default": is_default},
            options=options,
        )
        saved: SavedAddress = self._client.parse(SavedAddress, response)
        return saved

    async def get(self, address_id: str, **options: Unpack[RequestOptions]) -> SavedAddress:
        """One saved address."""
        response = await self._client.request(
            "GET", f"/auth/me/addresses/{segment(address_id)}", options=options
        )
        saved: SavedAddress = self._client.parse(SavedAddress, response)
        return saved

    async def update(
        self,
        address_id: str,
        *,
        full_name: str | NotGiven = NOT_GIVEN,
        address_line1: str | NotGiven = NOT_GIVEN,
        address_line2: str | NotGiven | None = NOT_GIVEN,
        city: str | NotGiven = NOT_GIVEN,
        state: str | NotGiven | None = NOT_GIVEN,
        postal_code: str | NotGiven = NOT_GIVEN,
        country: str | NotGiven = NOT_GIVEN,
        phone: str | NotGiven = NOT_GIVEN,
        is_default: bool | NotGiven = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> SavedAddress:
        """Change the fields given (``is_default=True`` makes it the default)."""
        body = strip_not_given(
            {
                "full_name": full_name,
                "address_line1": address_line1,
                "address_line2": address_line2,
                "city": city,
                "state": state,
                "postal_code": postal_code,
                "country": country,
                "phone": phone,
                "is_default": is_default,
            }
        )
        response = await self._client.request(
            "PATCH", f"/auth/me/addresses/{segment(address_id)}", json=body, options=options
        )
        saved: SavedAddress = self._client.parse(SavedAddress, response)
        return saved

    async def delete(self, address_id: str, **options: Unpack[RequestOptions]) -> None:
        """Delete a saved address (orders keep their copy)."""
        await self._client.request(
            "DELETE", f"/auth/me/addresses/{segment(address_id)}", options=options
        )
