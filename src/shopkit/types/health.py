"""Service health (``/health``)."""

from __future__ import annotations

from shopkit.types._base import ShopkitModel


class Health(ShopkitModel):
    status: str
    """``"ok"``, or ``"degraded"`` when the service's store does not answer."""
    service: str
    version: str
    database: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"
