"""The address book: each account's saved shipping addresses (no HTTP, no database driver).

At most :data:`~shopkit_server.auth.models.MAX_ADDRESSES` per account and at most one default
(the first address saved becomes it). Another user's address is "not found", like a missing
one. Checkout looks an entry up by id and copies its fields into the order, so editing or
deleting an entry later never changes an order.
"""

from __future__ import annotations

from shopkit_server.auth.errors import AddressLimit, AddressNotFound
from shopkit_server.auth.models import MAX_ADDRESSES, AddressLimitReached, SavedAddress
from shopkit_server.auth.repository import AddressRepository
from shopkit_server.clock import utc_now
from shopkit_server.ids import is_valid_id, new_id
from shopkit_server.orders.models import Address


class AddressBook:
    def __init__(self, addresses: AddressRepository, *, limit: int = MAX_ADDRESSES) -> None:
        self.addresses = addresses
        self.limit = limit

    async def list(self, user_id: str) -> list[SavedAddress]:
        return await self.addresses.list(user_id)

    async def get(self, user_id: str, address_id: str) -> SavedAddress:
        found = await self.addresses.get(user_id, address_id) if is_valid_id(address_id) else None
        if found is None:
            raise AddressNotFound()
        return found

    async def add(self, user_id: str, address: Address, *, is_default: bool) -> SavedAddress:
        now = utc_now()
        entry = SavedAddress(
            id=new_id(),
            user_id=user_id,
            address=address,
            is_default=is_default,
            created_at=now,
            updated_at=now,
        )
        try:
            return await self.addresses.add(entry, limit=self.limit)
        except AddressLimitReached:
            raise AddressLimit() from None

    async def update(
        self, user_id: str, address_id: str, address: Address, *, make_default: bool
    ) -> SavedAddress:
        if not is_valid_id(address_id):
            raise AddressNotFound()
        updated = await self.addresses.update(
            user_id, address_id, address, make_default=make_default, now=utc_now()
        )
        if updated is None:
            raise AddressNotFound()
        return updated

    async def delete(self, user_id: str, address_id: str) -> None:
        if not is_valid_id(address_id) or not await self.addresses.delete(user_id, address_id):
            raise AddressNotFound()
