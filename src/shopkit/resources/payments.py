"""``client.payments``: record a manual payment, get an order's payment intent."""

from __future__ import annotations

from decimal import Decimal
from typing import Unpack

from shopkit._types import RequestOptions
from shopkit.resources._resource import AsyncAPIResource, segment
from shopkit.types.orders import Order
from shopkit.types.payments import PaymentIntent


class AsyncPayments(AsyncAPIResource):
    async def record(
        self,
        order_id: str,
        *,
        amount: Decimal | str | None = None,
        **options: Unpack[RequestOptions],
    ) -> Order:
        """Record the cash or transfer that paid a ``manual`` order (admins). With ``amount``,
        it must equal the order's total (else ``BadRequestError``, ``payment_amount_mismatch``).
        """
        body = {} if amount is None else {"amount": str(amount)}
        response = await self._client.request(
            "POST", f"/orders/{segment(order_id)}/payments", json=body, options=options
        )
        order: Order = self._client.parse(Order, response)
        return order

    async def intent(self, order_id: str, **options: Unpack[RequestOptions]) -> PaymentIntent:
        """The order's payment with its provider, with its ``client_secret``: the same intent
        every time, so an app that lost it, or whose payment failed, pays the same order again.
        """
        response = await self._client.request(
            "POST", f"/orders/{segment(order_id)}/payment-intent", options=options
        )
        intent: PaymentIntent = self._client.parse(PaymentIntent, response)
        return intent
