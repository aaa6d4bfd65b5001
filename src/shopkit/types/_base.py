"""The base of every response model, and exact money."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

_CENT = Decimal("0.01")


class ShopkitModel(BaseModel):
    """A response object.

    ``extra="allow"``: a field a newer server adds is kept (in ``model_extra``) instead of
    breaking an older SDK. Enum-like fields (``role``, ``status``) are plain strings for the
    same reason; the ``Literal`` aliases type what the SDK *sends*.
    """

    # defer_build: each schema is built on first use, not at `import shopkit`.
    model_config = ConfigDict(extra="allow", protected_namespaces=(), defer_build=True)


def _to_cents(value: Decimal) -> Decimal:
    # The server writes 10.00 as the JSON number 10.0 (or 10); show it as 10.00. Only pad:
    # a value with more decimals is kept exactly as sent, never rounded on the client.
    exponent = value.as_tuple().exponent
    if value.is_finite() and isinstance(exponent, int) and exponent > -2:
        return value.quantize(_CENT)
    return value


Money = Annotated[Decimal, AfterValidator(_to_cents)]
"""An amount of money: an exact ``Decimal`` with (at least) two decimals."""
