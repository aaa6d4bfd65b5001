"""Order service logic (no HTTP, no database driver).

Checkout: claim the cart (so a double tap cannot order one cart twice: the second checkout gets
409 ``checkout_in_progress`` while the first holds the claim, and finds the ordered lines gone
after it), re-read every product in one batch, reserve stock for all lines or none (the
reservation id is the order id, so a retried attempt can never take stock twice), store the
order, take its lines out of the cart and drop the claim. If anything fails before the order is
stored, the stock is given back and the claim released. An Idempotency-Key is claimed (unique
per user and key) before any of that, so racing duplicates wait for the one attempt doing the
work and return its order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

import anyio

from shopkit_server.cart.clients import ProductsClient
from shopkit_server.cart.errors import CartLineLimit
from shopkit_server.cart.models import CHECKOUT_CLAIM_LEASE, MAX_CART_LINES, Cart
from shopkit_server.clock import utc_now
from shopkit_server.deps import Principal
from shopkit_server.errors import PermissionDenied
from shopkit_server.ids import is_valid_id, new_id
from shopkit_server.log_lines import EventLog
from shopkit_server.money import ZERO, quantize
from shopkit_server.orders.changes import apply_change
from shopkit_server.orders.clients import AddressLookup, CartClient, ReservingStock, StockClient
from shopkit_server.orders.errors import (
    CartEmpty,
    EmailNotVerified,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    InvalidTransition,
    OrderNotFound,
)
from shopkit_server.orders.models import (
    MANUAL,
    TRANSITIONS,
    Address,
    IdempotencyRecord,
    Order,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    StatusChange,
)
from shopkit_server.orders.repository import (
    CheckoutStore,
    OrderRepository,
    Placement,
    entries_for,
    line_key,
)
from shopkit_server.pagination import PageParams, PageResult
from shopkit_server.payments.provider import Intent
from shopkit_server.payments.service import PaymentService
from shopkit_server.products.errors import (
    InsufficientStock,
    ProductNotFound,
    ReservationMismatch,
    ReservationPending,
    ReservationReleased,
)
from shopkit_server.products.models import Product, StockLine
from shopkit_server.products.version import Touched
from shopkit_server.store.base import DuplicateKeyError
from shopkit_server.webhooks import events

log = EventLog("shopkit.orders")

# An attempt holding an Idempotency-Key that has not finished after this long is presumed dead
# and may be taken over (under the same order id, so its stock reservation is reused).
IDEMPOTENCY_LEASE = timedelta(seconds=60)
# How long a duplicate request waits for the attempt holding its key before answering 409.
IDEMPOTENCY_WAIT_SECONDS = 15.0
_POLL_SECONDS = 0.02


def _stock_lines(order: Order) -> list[StockLine]:
    """What an order takes from stock and out of the cart: its items, each one variant."""
    return [StockLine(i.product_id, i.quantity, i.variant_id) for i in order.items]


# json.dumps(body, sort_keys=True, separators=(",", ":")), without a new encoder per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
# An address's fields, all plain text (``asdict`` would walk and copy each value).
_ADDRESS_FIELDS = tuple(f.name for f in fields(Address))


def request_fingerprint(address: Address, payment_method: str = MANUAL) -> str:
    """What makes two checkout bodies "the same" for an Idempotency-Key."""
    body: dict[str, object] = {name: getattr(address, name) for name in _ADDRESS_FIELDS}
    if payment_method != MANUAL:  # manual keeps the fingerprint keys had before payments
        body["payment_method"] = payment_method
    return hashlib.sha256(_CANONICAL.encode(body).encode()).hexdigest()


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    shipping_cost: Decimal
    tax: Decimal
    total: Decimal


def compute_totals(items: list[OrderItem], *, tax_rate: Decimal, shipping: Decimal) -> Totals:
    """Exact money: tax is ``subtotal * tax_rate`` rounded half-up to the cent."""
    subtotal = quantize(sum((item.item_total for item in items), ZERO))
    shipping_cost = quantize(shipping)
    tax = quantize(subtotal * tax_rate)
    return Totals(subtotal, shipping_cost, tax, subtotal + shipping_cost + tax)


class PricedProduct(Protocol):
    """What pricing reads of one variant of a product (a ``CatalogEntry``)."""

    @property
    def product_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def stock(self) -> int: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def variant_id(self) -> str | None: ...
    @property
    def sku(self) -> str | None: ...
    @property
    def option_values(self) -> dict[str, str]: ...
    @property
    def image_url(self) -> str | None: ...


@dataclass(frozen=True)
class OneStoreCheckout:
    """The cart and the catalog run in this process on the order service's own store: a
    checkout is then one store operation (``CheckoutStore.place_order``). Used only while the
    order service still calls exactly these in-process peers."""

    store: CheckoutStore
    cart: CartClient
    products: ProductsClient
    stock: StockClient
    # The order took stock: caches must know (of these products; None: of any).
    catalog_changed: Callable[[Touched], Awaitable[None]]


@dataclass(frozen=True)
class CheckoutResult:
    order: Order
    replayed: bool  # True when an earlier request with the same Idempotency-Key made the order
    intent: Intent | None = None  # the order's payment with a provider (its client_secret)


class OrderService:
    def __init__(
        self,
        *,
        orders: OrderRepository,
        cart: CartClient,
        products: ProductsClient,
        stock: StockClient,
        tax_rate: Decimal,
        shipping_flat: Decimal,
        idempotency_wait: float = IDEMPOTENCY_WAIT_SECONDS,
        idempotency_lease: timedelta = IDEMPOTENCY_LEASE,
        payments: PaymentService | None = None,
        one_store: OneStoreCheckout | None = None,
        addresses: AddressLookup | None = None,
        require_verified_email: bool = False,
    ) -> None:
        self.payments = payments or PaymentService(orders=orders, providers={})
        # Saved addresses checkout may be asked to ship to (``address_id``); None: none.
        self.addresses = addresses
        # SHOPKIT_REQUIRE_VERIFIED_EMAIL_FOR_CHECKOUT: refuse an unverified account (403).
        self.require_verified_email = require_verified_email
        self.orders = orders
        self.cart = cart
        self.products = products
        self.stock = stock
        self.tax_rate = tax_rate
        self.shipping_flat = shipping_flat
        self.idempotency_wait = idempotency_wait
        self.idempotency_lease = idempotency_lease
        self.one_store = one_store
        self._wired = (products, stock)  # the peers the combined calls below stand in for

    # -- checkout -----------------------------------------------------------------------------

    async def checkout(
        self,
        user: Principal,
        address: Address | None,
        idempotency_key: str | None = None,
        payment_method: str = MANUAL,
        *,
        address_id: str | None = None,
    ) -> CheckoutResult:
        """Place an order from the user's cart, shipped to ``address`` or to the saved address
        ``address_id`` (looked up first and copied into the order, which keeps the copy), then
        start its payment (a provider's intent, created after the order is stored, keyed by
        the order id: a replay or a race finds the same intent)."""
        self.payments.check_method(payment_method)
        if self.require_verified_email and not user.email_verified:
            raise EmailNotVerified()
        if address is None:
            if address_id is None or self.addresses is None:
                raise ValueError("checkout needs an address or a saved address's id")
            address = (await self.addresses.get(user.id, address_id)).address
        result = await self._checkout(user, address, idempotency_key, payment_method)
        intent = await self.payments.start(result.order)
        return replace(result, intent=intent)

    async def _checkout(
        self, user: Principal, address: Address, idempotency_key: str | None, payment_method: str
    ) -> CheckoutResult:
        one = self._one_store()
        if idempotency_key is None:
            if one is not None:
                placed = await self._place_at_once(
                    one, user, address, new_id(), None, payment_method=payment_method
                )
                assert isinstance(placed, Order)  # without a key nothing else can hold it
                return CheckoutResult(placed, replayed=False)
            order = await self._place(user, address, new_id(), payment_method)
            return CheckoutResult(order, replayed=False)
        fingerprint = request_fingerprint(address, payment_method)
        deadline: float | None = None  # when waiting for another attempt gives up
        taken_over = False  # whether ``record`` is a dead attempt's key, renewed for us
        if one is not None:  # claimed inside the one store operation, with everything else
            record, won = self._new_record(user.id, idempotency_key, fingerprint), True
        else:
            record, won = await self._claim(user.id, idempotency_key, fingerprint)
        while True:
            if record.request_hash != fingerprint:
                raise IdempotencyKeyReused()
            if won:
                if one is None:
                    order = await self._place_claimed(user, address, record, payment_method)
                    return CheckoutResult(order, replayed=False)
                placed = await self._place_at_once(
                    one,
                    user,
                    address,
                    record.order_id,
                    record,
                    taken_over=taken_over,
                    payment_method=payment_method,
                )
                if isinstance(placed, Order):
                    return CheckoutResult(placed, replayed=False)
                record, won = placed, False  # another attempt holds the key: as below
                continue
            order_or_none = await self.orders.get(record.order_id)
            if order_or_none is not None:
                return CheckoutResult(order_or_none, replayed=True)
            now = utc_now()
            if record.claimed_at + self.idempotency_lease <= now:
                # The attempt holding the key died; finish its work under the same order id.
                won = await self.orders.renew_idempotency_key(record, now)
                if won:
                    record, taken_over = replace(record, claimed_at=now), True
                    continue
            if deadline is None:  # the wait starts now (a key nobody else holds never waits)
                deadline = anyio.current_time() + self.idempotency_wait
            if anyio.current_time() >= deadline:
                raise IdempotencyKeyInProgress()
            await anyio.sleep(_POLL_SECONDS)
            current = await self.orders.get_idempotency_key(user.id, idempotency_key)
            if current is None:  # the attempt failed and freed the key: try for it ourselves
                taken_over = False
                if one is not None:
                    record, won = self._new_record(user.id, idempotency_key, fingerprint), True
                else:
                    record, won = await self._claim(user.id, idempotency_key, fingerprint)
            else:
                record = current

    def _one_store(self) -> OneStoreCheckout | None:
        one = self.one_store
        if one is None or (one.cart, one.products, one.stock) != (
            self.cart,
            self.products,
            self.stock,
        ):
            return None  # peers apart (or replaced): the compensating path
        return one

    async def _place_at_once(
        self,
        one: OneStoreCheckout,
        user: Principal,
        address: Address,
        order_id: str,
        record: IdempotencyRecord | None,
        *,
        taken_over: bool = False,
        payment_method: str = MANUAL,
    ) -> Order | IdempotencyRecord:
        """The whole checkout as one store operation: the order, or the record of another
        attempt holding the key (then nothing was written). The store writes the order's
        ``order.placed`` (and any ``product.out_of_stock``) into the outbox in it too."""
        now = utc_now()

        def price(lines: Sequence[StockLine], products: Mapping[str, PricedProduct]) -> Order:
            return self._price(
                user, address, order_id, lines, products, now, payment_method=payment_method
            )

        placement = Placement(
            user_id=user.id,
            order_id=order_id,
            key=record,
            cart_stale_before=now - CHECKOUT_CLAIM_LEASE,
            price=price,
        )
        try:
            placed = await one.store.place_order(placement)
        except DuplicateKeyError:
            # The order id is stored already (a takeover raced the attempt it took over, which
            # finished after all): that order stands.
            stored = await self._find(order_id)
            if stored is None:
                raise
            return stored
        except Exception:
            # Rolled back whole: no stock moved. A taken-over key was stored before this
            # attempt, so it is freed here, as the compensating path frees a failed attempt's.
            if taken_over and record is not None:
                with anyio.CancelScope(shield=True):
                    await self._free_key(user, record)
            raise
        except BaseException:
            # Cancelled: the store operation ran to its end regardless (committed whole or
            # rolled back whole); the caches hear of it either way.
            with anyio.CancelScope(shield=True):
                await one.catalog_changed(None)  # which products is unknown here
            raise
        if isinstance(placed, Order):
            with anyio.CancelScope(shield=True):
                await one.catalog_changed([item.product_id for item in placed.items])
            log.info("order_placed", order_id=order_id, total=str(placed.total))
        return placed

    async def _free_key(self, user: Principal, record: IdempotencyRecord) -> None:
        if await self._find(record.order_id) is not None:
            return  # only a stored order is remembered under a key
        try:
            await self.orders.release_idempotency_key(user.id, record.key, record.order_id)
        except Exception:
            log.warning("idempotency_key_release_failed", order_id=record.order_id)

    @staticmethod
    def _new_record(user_id: str, key: str, fingerprint: str) -> IdempotencyRecord:
        now = utc_now()
        return IdempotencyRecord(
            user_id=user_id,
            key=key,
            request_hash=fingerprint,
            order_id=new_id(),
            created_at=now,
            claimed_at=now,
        )

    async def _claim(
        self, user_id: str, key: str, fingerprint: str
    ) -> tuple[IdempotencyRecord, bool]:
        mine = self._new_record(user_id, key, fingerprint)
        held = await self.orders.claim_idempotency_key(mine)
        return held, held.order_id == mine.order_id

    async def _place_claimed(
        self, user: Principal, address: Address, record: IdempotencyRecord, payment_method: str
    ) -> Order:
        try:
            return await self._place(user, address, record.order_id, payment_method)
        except BaseException:
            # Only a stored order is remembered under a key. A failed attempt (empty cart, no
            # stock...) frees it, so the client can fix the cause and retry with the same key.
            with anyio.CancelScope(shield=True):
                if await self._find(record.order_id) is None:
                    try:
                        await self.orders.release_idempotency_key(
                            user.id, record.key, record.order_id
                        )
                    except Exception:
                        log.warning("idempotency_key_release_failed", order_id=record.order_id)
            raise

    async def _place(
        self, user: Principal, address: Address, order_id: str, payment_method: str
    ) -> Order:
        # The claim is keyed by the order id: a takeover under the same Idempotency-Key
        # re-claims what its dead attempt held; any other checkout of this cart is refused.
        # The claim is inside the try: it can land and still fail (a lost reply, a cancel after
        # its commit), and releasing is idempotent per order id (another checkout's claim stays).
        try:
            cart = await self.cart.claim(user, order_id)
            order = await self._order(user, address, order_id, cart, payment_method)
        except BaseException:
            with anyio.CancelScope(shield=True):
                stored = await self._find(order_id)
                if stored is None:
                    await self._release_claim(user, order_id)
                else:  # stored, then interrupted: its lines still leave the cart
                    await self._finish_claim(user, stored)
            raise
        await self._finish_claim(user, order)
        log.info("order_placed", order_id=order_id, total=str(order.total))
        return order

    async def _finish_claim(self, user: Principal, order: Order) -> None:
        try:
            await self.cart.finish(user, order.id, _stock_lines(order))
        except Exception:
            # The order is stored and its stock taken; failing now would invite a retry that
            # orders twice. The claim stays (until its lease ends), so a double tap still
            # cannot order these lines again meanwhile; a cart left full is the lesser harm.
            log.warning("cart_clear_failed", order_id=order.id, exc_info=True)

    async def _order(
        self, user: Principal, address: Address, order_id: str, cart: Cart, payment_method: str
    ) -> Order:
        """Price the claimed cart, reserve its stock and store the order."""
        if not cart.items:
            raise CartEmpty()
        if len(cart.items) > MAX_CART_LINES:  # a cart filled before the cap existed
            raise CartLineLimit()
        lines = [StockLine(item.product_id, item.quantity, item.variant_id) for item in cart.items]
        reserving = self.stock if (self.products, self.stock) == self._wired else None
        if isinstance(reserving, ReservingStock):
            # One round trip reserves and reads the products (peers apart): price after it.
            products = await self._reserve_and_read(reserving, order_id, lines)
            try:  # the reservation guards the stock; pricing only fails on a bug
                order = self._price(
                    user,
                    address,
                    order_id,
                    lines,
                    entries_for(lines, products),
                    utc_now(),
                    check_stock=False,
                    payment_method=payment_method,
                )
            except BaseException:
                with anyio.CancelScope(shield=True):
                    await self._release_quietly(order_id)
                raise
        else:
            products = await self.products.get_products([line.product_id for line in lines])
            entries = entries_for(lines, products)
            order = self._price(
                user, address, order_id, lines, entries, utc_now(), payment_method=payment_method
            )
            await self._reserve(order_id, _stock_lines(order))
        try:
            await self.orders.add(order, [events.placed(order)])
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                stored = await self._find(order_id)
                if stored is None:
                    await self._release_quietly(order_id)
            # The write may have landed although it reported a failure (a timeout; or another
            # attempt under the same key stored it first): then the order stands.
            if stored is None or not isinstance(exc, Exception):
                raise
            order = stored
        return order

    def _price(
        self,
        user: Principal,
        address: Address,
        order_id: str,
        lines: Sequence[StockLine],
        products: Mapping[str, PricedProduct],
        now: datetime,
        *,
        check_stock: bool = True,
        payment_method: str = MANUAL,
    ) -> Order:
        """The order for the cart's ``lines`` at the catalog's current prices (pure: the
        one-store path runs it inside the store's transaction)."""
        if not lines:
            raise CartEmpty()
        if len(lines) > MAX_CART_LINES:  # a cart filled before the cap existed
            raise CartLineLimit()
        # One line per variant (``products`` is keyed by ``line_key``: the variant id).
        quantities = {line_key(line): line.quantity for line in lines}
        product_of = {line_key(line): line.product_id for line in lines}
        gone = [key for key in quantities if key not in products or not products[key].is_active]
        if gone:  # named by product (a variant retired or gone: its product's line)
            names = ", ".join(dict.fromkeys(product_of[key] for key in gone))
            raise ProductNotFound(
                f"No longer available: {names}. Remove it from your cart and retry."
            )
        # The compensating path's early answer (its reservation guards the stock); inside the
        # one store operation, the stock read under its lock.
        if check_stock:
            short = [key for key, qty in quantities.items() if products[key].stock < qty]
            if short:
                raise InsufficientStock(list(dict.fromkeys(product_of[key] for key in short)))
        items = [
            OrderItem(
                product_id=products[key].product_id,
                name=products[key].name,
                price=products[key].price,
                quantity=quantity,
                item_total=products[key].price * quantity,
                variant_id=products[key].variant_id,
                sku=products[key].sku,
                option_values=dict(products[key].option_values),
                image_url=products[key].image_url,
            )
            for key, quantity in quantities.items()
        ]
        totals = compute_totals(items, tax_rate=self.tax_rate, shipping=self.shipping_flat)
        return Order(
            id=order_id,
            user_id=user.id,
            items=items,
            subtotal=totals.subtotal,
            shipping_cost=totals.shipping_cost,
            tax=totals.tax,
            total=totals.total,
            shipping_address=address,
            status=OrderStatus.PENDING,
            status_history=[StatusChange(OrderStatus.PENDING, now)],
            created_at=now,
            updated_at=now,
            payment_method=payment_method,
        )

    async def _release_claim(self, user: Principal, order_id: str) -> None:
        try:
            await self.cart.release(user, order_id)
        except Exception:
            # The claim then lapses with its lease; until then this cart cannot be checked out.
            log.warning("cart_claim_release_failed", order_id=order_id, exc_info=True)

    async def _reserve(self, order_id: str, lines: list[StockLine]) -> None:
        """Reserve, and give back whatever a reserve with an unknown outcome may have taken.

        Over HTTP a reserve can fail after the product service applied it (a timeout on the
        reply). Releasing then is safe either way: release is idempotent per order id, and a
        released id can never take stock again, so a late retry of the reserve cannot either.
        """
        try:
            await self.stock.reserve(order_id, lines)
        except (InsufficientStock, ReservationPending, ReservationMismatch, ReservationReleased):
            raise  # the product service answered: nothing was taken under this call
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._release_quietly(order_id)
            raise

    async def _reserve_and_read(
        self, stock: ReservingStock, order_id: str, lines: list[StockLine]
    ) -> dict[str, Product]:
        """Reserve and read in one call; a missing or inactive product reserved nothing and is
        answered as ``_price`` answers it (ProductNotFound naming it)."""
        try:
            reserved, products = await stock.reserve_and_read(order_id, lines)
        except (InsufficientStock, ReservationPending, ReservationMismatch, ReservationReleased):
            raise  # the product service answered: nothing was taken under this call
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._release_quietly(order_id)
            raise
        if reserved:
            return products
        gone = [x.product_id for x in lines if x.product_id not in products]
        gone += [
            x.product_id
            for x in lines
            if x.product_id in products and not products[x.product_id].is_active
        ]
        raise ProductNotFound(
            f"No longer available: {', '.join(gone)}. Remove it from your cart and retry."
        )

    async def _find(self, order_id: str) -> Order | None:
        try:
            return await self.orders.get(order_id)
        except Exception:
            log.warning("order_lookup_failed", order_id=order_id, exc_info=True)
            return None

    async def _release_quietly(self, order_id: str) -> None:
        try:
            await self.stock.release(order_id)
        except Exception:
            # Stock stays taken for an order that does not exist: say so loudly for operators.
            log.error("stock_release_failed", order_id=order_id, exc_info=True)

    # -- reading ------------------------------------------------------------------------------

    async def get_order(self, actor: Principal, order_id: str) -> Order:
        """The order if ``actor`` owns it or is an admin; someone else's is "not found"."""
        order = await self.orders.get(order_id) if is_valid_id(order_id) else None
        if order is None or not (actor.is_admin or order.user_id == actor.id):
            raise OrderNotFound()
        return order

    async def list_orders(
        self,
        actor: Principal,
        page: PageParams,
        *,
        status: OrderStatus | None = None,
        everyone: bool = False,
    ) -> PageResult[Order]:
        if everyone and not actor.is_admin:
            raise PermissionDenied("Only admins can list every order.")
        return await self.orders.list(
            user_id=None if everyone else actor.id,
            status=status,
            offset=page.offset,
            limit=page.page_size,
            after=page.after,
        )

    # -- status -------------------------------------------------------------------------------

    async def change_status(self, order_id: str, new: OrderStatus) -> Order:
        """Admin move along the status flow; cancelling gives the stock back."""
        order = await self.orders.get(order_id) if is_valid_id(order_id) else None
        if order is None:
            raise OrderNotFound()
        return await self._move(order, new)

    async def cancel(self, actor: Principal, order_id: str) -> Order:
        """Cancel a pending or confirmed order (its owner or an admin); the stock comes back."""
        return await self._move(await self.get_order(actor, order_id), OrderStatus.CANCELLED)

    async def _move(self, order: Order, new: OrderStatus, *, only_if_unpaid: bool = False) -> Order:
        # Each lost compare-and-set means the order moved on, and the flow is finite.
        for _ in range(len(OrderStatus) * len(PaymentStatus)):
            if only_if_unpaid and order.payment_status not in (
                PaymentStatus.UNPAID,
                PaymentStatus.FAILED,
            ):
                raise InvalidTransition("The order was paid meanwhile.")
            if new not in TRANSITIONS[order.status]:
                if new is OrderStatus.CANCELLED and order.status is OrderStatus.CANCELLED:
                    # Release is idempotent per order: re-driving it heals a cancel whose
                    # release failed earlier, and is a no-op otherwise.
                    await self._release_quietly(order.id)
                raise InvalidTransition(
                    f"An order that is {order.status.value} cannot become {new.value}."
                )
            moved = await apply_change(self.orders, order, status=new)
            if moved is not None:
                if new is OrderStatus.CANCELLED:
                    # The move is what the caller asked for, and it happened: a release that
                    # fails now is logged and re-driven by the next cancel (it is idempotent).
                    # A paid order is refunded (a failed refund is retried by the sweeper).
                    with anyio.CancelScope(shield=True):
                        await self._release_quietly(order.id)
                        await self.payments.after_cancel(moved)
                        moved = await self.orders.get(order.id) or moved
                log.info("order_status_changed", order_id=order.id, status=new.value)
                return moved
            fresh = await self.orders.get(order.id)
            if fresh is None:
                raise OrderNotFound()
            order = fresh
        raise InvalidTransition()

    # -- payment deadlines --------------------------------------------------------------------

    async def expire_unpaid(self, now: datetime, unpaid_for: timedelta, limit: int = 50) -> int:
        """Cancel provider-paid orders still unpaid ``unpaid_for`` after checkout; their stock
        comes back. Returns how many were cancelled."""
        due = await self.orders.payment_due(
            status=OrderStatus.PENDING,
            payment=[PaymentStatus.UNPAID, PaymentStatus.FAILED],
            created_before=now - unpaid_for,
            limit=limit,
            exclude_method=MANUAL,
        )
        cancelled = 0
        for order in due:
            try:
                await self._move(order, OrderStatus.CANCELLED, only_if_unpaid=True)
            except InvalidTransition:
                continue  # paid or moved meanwhile
            log.info("order_payment_expired", order_id=order.id)
            cancelled += 1
        return cancelled
