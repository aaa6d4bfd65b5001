"""Errors of payments."""

from __future__ import annotations

from shopkit_server.errors import BadRequest, Conflict, ShopError


class PaymentMethodUnavailable(BadRequest):
    code = "payment_method_unavailable"
    detail = "That payment method is not offered by this shop."


class InvalidWebhookSignature(BadRequest):
    code = "invalid_signature"
    detail = "The webhook signature is missing, wrong or too old."


class PaymentAmountMismatch(BadRequest):
    code = "payment_amount_mismatch"
    detail = "The amount paid is not the order's total."


class OrderAlreadyPaid(Conflict):
    code = "order_already_paid"
    detail = "The order is already paid."


class OrderNotPayable(Conflict):
    code = "order_not_payable"
    detail = "The order cannot be paid (it is cancelled, refunded or paid by another method)."


class PaymentProviderUnavailable(ShopError):
    status_code = 502
    code = "payment_provider_unavailable"
    detail = "The payment provider did not answer or refused the call; try again."
