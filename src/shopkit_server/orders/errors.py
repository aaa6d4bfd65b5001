"""Errors of the order service."""

from __future__ import annotations

from shopkit_server.errors import BadRequest, Conflict, NotFound, PermissionDenied


class OrderNotFound(NotFound):
    code = "order_not_found"
    detail = "Order not found."


class CartEmpty(BadRequest):
    code = "cart_empty"
    detail = "Your cart is empty."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    detail = "The order cannot move to that status."


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    detail = "This Idempotency-Key was already used with a different request body."


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency_key_in_progress"
    detail = "A request with this Idempotency-Key is still being processed; retry shortly."


class EmailNotVerified(PermissionDenied):
    code = "email_not_verified"
    detail = "Verify your email address before checking out (see /auth/verify-email)."
