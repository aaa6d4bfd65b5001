"""What the SQL stores share of their rows: column lists and row -> model mapping.

SQLite and PostgreSQL give these tables the same columns; only how a value comes back
differs (SQLite: times as ISO 8601 text and JSON as text; asyncpg: ``datetime`` and decoded
``jsonb``). Each store passes its :class:`RowCodec`; the SQL itself (placeholders, types,
locking) stays in the store's own module. MongoDB shares the plain field lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from shopkit_server.auth.models import AccountToken, SavedAddress, TokenPurpose
from shopkit_server.cart.models import GuestCart
from shopkit_server.orders.models import Address, OutboxEvent
from shopkit_server.webhooks.models import Delivery, DeliveryState, Endpoint


class RowLike(Protocol):
    """A result row read by column name (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: str, /) -> Any: ...


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class RowCodec:
    """How a store's driver returns times and JSON columns."""

    time: Callable[[Any], datetime] = _same
    json: Callable[[Any], Any] = _same

    def maybe_time(self, value: Any) -> datetime | None:
        return None if value is None else self.time(value)


NATIVE = RowCodec()  # a driver that decodes both itself (asyncpg)

# -- account tokens, address books, guest carts -------------------------------------------------

TOKEN_COLUMNS = "token_hash, user_id, purpose, email, created_at, expires_at"  # noqa: S105
ADDRESS_FIELDS = (
    "full_name",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    "phone",
)
ADDRESS_COLUMNS = (
    "id, user_id, " + ", ".join(ADDRESS_FIELDS) + ", is_default, created_at, updated_at"
)
GUEST_COLUMNS = "id, token_hash, created_at, expires_at"
# A merged guest cart's row stays this long, so a sweep never races the merge that claimed it.
MERGED_KEPT = timedelta(hours=1)


def token_of(row: RowLike, codec: RowCodec) -> AccountToken:
    return AccountToken(
        token_hash=row["token_hash"],
        user_id=row["user_id"],
        purpose=TokenPurpose(row["purpose"]),
        email=row["email"],
        created_at=codec.time(row["created_at"]),
        expires_at=codec.time(row["expires_at"]),
    )


def saved_address_of(row: RowLike, codec: RowCodec) -> SavedAddress:
    return SavedAddress(
        id=row["id"],
        user_id=row["user_id"],
        address=Address(**{name: row[name] for name in ADDRESS_FIELDS}),
        is_default=bool(row["is_default"]),
        created_at=codec.time(row["created_at"]),
        updated_at=codec.time(row["updated_at"]),
    )


def guest_cart_of(row: RowLike, codec: RowCodec) -> GuestCart:
    return GuestCart(
        id=row["id"],
        token_hash=row["token_hash"],
        created_at=codec.time(row["created_at"]),
        expires_at=codec.time(row["expires_at"]),
    )


# -- the outbox, webhook endpoints and deliveries ----------------------------------------------

EVENT_COLUMNS = "id, type, key, data, created_at"
ENDPOINT_COLUMNS = "id, url, secret, event_types, active, created_at, updated_at"
# A delivery with its event (``webhook_deliveries d JOIN outbox_events e``).
DELIVERY_COLUMNS = (
    "d.id, d.webhook_id, d.state, d.attempts, d.next_attempt_at, d.last_attempt_at, "
    "d.response_status, d.last_error, d.created_at, d.delivered_at, "
    "e.id AS event_id, e.type AS event_type, e.key AS event_key, e.data AS event_data, "
    "e.created_at AS event_created_at"
)


def event_of(row: RowLike, codec: RowCodec) -> OutboxEvent:
    """An ``outbox_events`` row read with :data:`EVENT_COLUMNS`."""
    return OutboxEvent(
        id=row["id"],
        type=row["type"],
        key=row["key"],
        created_at=codec.time(row["created_at"]),
        data=codec.json(row["data"]),
    )


def endpoint_of(row: RowLike, codec: RowCodec) -> Endpoint:
    return Endpoint(
        id=row["id"],
        url=row["url"],
        secret=row["secret"],
        event_types=tuple(codec.json(row["event_types"])),
        active=bool(row["active"]),
        created_at=codec.time(row["created_at"]),
        updated_at=codec.time(row["updated_at"]),
    )


def delivery_of(row: RowLike, codec: RowCodec) -> Delivery:
    """A row read with :data:`DELIVERY_COLUMNS`."""
    return Delivery(
        id=row["id"],
        webhook_id=row["webhook_id"],
        event=OutboxEvent(
            id=row["event_id"],
            type=row["event_type"],
            key=row["event_key"],
            created_at=codec.time(row["event_created_at"]),
            data=codec.json(row["event_data"]),
        ),
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=codec.time(row["next_attempt_at"]),
        last_attempt_at=codec.maybe_time(row["last_attempt_at"]),
        response_status=row["response_status"],
        last_error=row["last_error"],
        created_at=codec.time(row["created_at"]),
        delivered_at=codec.maybe_time(row["delivered_at"]),
    )


def claimed_delivery_of(row: RowLike, codec: RowCodec) -> Delivery:
    """The delivery as claimed: this attempt counted."""
    return replace(delivery_of(row, codec), attempts=row["attempts"] + 1)
