"""HTTP routes of the address book, under ``/auth/me/addresses`` (the caller's own only)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from shopkit_server.auth.errors import AddressLimit, AddressNotFound
from shopkit_server.auth.schemas import (
    AddressCreate,
    AddressPatch,
    SavedAddressList,
    SavedAddressOut,
)
from shopkit_server.deps import ActiveUser, Context
from shopkit_server.errors import raises
from shopkit_server.orders.schemas import AddressIn
from shopkit_server.routing import ShopRouter

router = ShopRouter(prefix="/me/addresses")


@router.get("")
async def list_addresses(user: ActiveUser, ctx: Context) -> SavedAddressList:
    """Your saved addresses, oldest first (at most 20)."""
    return SavedAddressList(
        items=[SavedAddressOut.of(e) for e in await ctx.addresses.list(user.id)]
    )


@router.post("", status_code=status.HTTP_201_CREATED)
@raises(AddressLimit)
async def create_address(body: AddressCreate, user: ActiveUser, ctx: Context) -> SavedAddressOut:
    """Save an address (the first one saved is the default; 409 past 20)."""
    entry = await ctx.addresses.add(user.id, body.to_domain(), is_default=body.is_default)
    return SavedAddressOut.of(entry)


@router.get("/{address_id}")
@raises(AddressNotFound)
async def get_address(address_id: str, user: ActiveUser, ctx: Context) -> SavedAddressOut:
    """One of your addresses."""
    return SavedAddressOut.of(await ctx.addresses.get(user.id, address_id))


@router.patch("/{address_id}")
@raises(AddressNotFound)
async def update_address(
    address_id: str, body: AddressPatch, user: ActiveUser, ctx: Context
) -> SavedAddressOut:
    """Change some fields of an address, or make it the default (`is_default: true`)."""
    entry = await ctx.addresses.get(user.id, address_id)
    current = asdict(entry.address)
    changes = body.model_dump(exclude_unset=True, exclude={"is_default"})
    try:
        address = AddressIn.model_validate(current | changes).to_domain()
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    updated = await ctx.addresses.update(
        user.id, address_id, address, make_default=body.is_default is True
    )
    return SavedAddressOut.of(updated)


@router.delete("/{address_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
@raises(AddressNotFound)
async def delete_address(address_id: str, user: ActiveUser, ctx: Context) -> Response:
    """Delete an address (orders placed with it keep their copy)."""
    await ctx.addresses.delete(user.id, address_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
