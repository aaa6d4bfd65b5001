from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from shopkit._base_client import BaseClient


class AsyncAPIResource:
    """A group of endpoints (one noun) sending through the client that owns it."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client


def segment(value: str) -> str:
    """An id as one path segment: ``"../x"`` or ``"a/b"`` can never reach another route."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty id string, got {value!r}")
    return quote(value, safe="")


def money(value: Decimal | int | str | float, name: str = "amount") -> Decimal:
    """An amount to send: exact ``Decimal`` (a float goes through its shortest repr, 19.99)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number, not a bool")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
