"""Order service logic against in-memory cart and catalog, and the real order store."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from shopkit_server.cart.errors import CheckoutInProgress
from shopkit_server.cart.models import Cart
from shopkit_server.clock import utc_now
from shopkit_server.deps import Principal
from shopkit_server.ids import new_id
from shopkit_server.orders.errors import (
    CartEmpty,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    InvalidTransition,
)
from shopkit_server.orders.models import (
    Address,
    IdempotencyRecord,
    Order,
    OrderItem,
    OrderStatus,
    OutboxEvent,
)
from shopkit_server.orders.repository import OrderRepository
from shopkit_server.orders.service import OrderService, compute_totals, request_fingerprint
from shopkit_server.products.errors import InsufficientStock, ProductNotFound
from shopkit_server.store import Store
from tests.server.cart.fakes import FakeCatalog, make_product
from tests.server.orders.fakes import FakeCart, principal

ADDRESS = Address(
    full_name="Ayesha Khan",
    address_line1="12 Clifton Rd",
    city="Karachi",
    postal_code="75500",
    country="PK",
    phone="+92 300 1234567",
)


def totals(price: str, quantity: int, *, tax: str = "0.05", shipping: str = "0.00") -> list[str]:
    item = OrderItem(new_id(), "x", Decimal(price), quantity, Decimal(price) * quantity)
    t = compute_totals([item], tax_rate=Decimal(tax), shipping=Decimal(shipping))
    return [str(t.subtotal), str(t.shipping_cost), str(t.tax), str(t.total)]


def test_money_is_exact_and_tax_rounds_half_up() -> None:
    assert totals("99.99", 2) == ["199.98", "0.00", "10.00", "209.98"]
    assert totals("0.10", 3) == ["0.30", "0.00", "0.02", "0.32"]
    # 0.50 * 5% = 0.025: half-up gives 0.03 (banker's rounding would give 0.02).
    assert totals("0.50", 1) == ["0.50", "0.00", "0.03", "0.53"]
    assert totals("10.00", 1, shipping="4.99", tax="0.2") == ["10.00", "4.99", "2.00", "16.99"]


class FailingAdd:
    """An order repository whose ``add`` fails: before writing, or after the write landed."""

    def __init__(self, inner: OrderRepository, *, after_write: bool) -> None:
        self._inner = inner
        self._after_write = after_write

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def add(self, order: Order, events: Sequence[OutboxEvent] = ()) -> None:
        if self._after_write:
            await self._inner.add(order, events)
        raise TimeoutError("store did not answer")


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def cart() -> FakeCart:
    return FakeCart()


def make_service(
    orders: OrderRepository, cart: FakeCart, catalog: FakeCatalog, **options: object
) -> OrderService:
    return OrderService(
        orders=orders,
        cart=cart,
        products=catalog,
        stock=catalog,
        tax_rate=Decimal("0.05"),
        shipping_flat=Decimal("0.00"),
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture
def service(store: Store, cart: FakeCart, catalog: FakeCatalog) -> OrderService:
    return make_service(store.orders, cart, catalog)


async def test_checkout_uses_catalog_prices_reserves_and_clears(
    service: OrderService, cart: FakeCart, catalog: FakeCatalog, store: Store
) -> None:
    headphones = catalog.add(make_product("99.99", stock=10, name="Headphones"))
    user = principal()
    cart.put(user, (replace(headphones, price=Decimal("120.00")), 2))  # a stale cart price
    result = await service.checkout(user, ADDRESS)
    order = result.order
    assert result.replayed is False
    assert [(i.name, str(i.price), i.quantity, str(i.item_total)) for i in order.items] == [
        ("Headphones", "99.99", 2, "199.98")
    ]
    assert (str(order.subtotal), str(order.tax), str(order.total)) == ("199.98", "10.00", "209.98")
    assert order.status is OrderStatus.PENDING
    assert [c.status for c in order.status_history] == [OrderStatus.PENDING]
    assert catalog.stock(headphones.id) == 8
    assert list(catalog.reservations) == [order.id]  # the reservation id is the order id
    assert user.id not in cart.carts
    assert await store.orders.get(order.id) == order


async def test_an_empty_cart_is_refused(service: OrderService) -> None:
    with pytest.raises(CartEmpty):
        await service.checkout(principal(), ADDRESS)


async def test_a_product_gone_from_the_catalog_is_named(
    service: OrderService, cart: FakeCart, catalog: FakeCatalog
) -> None:
    kept = catalog.add(make_product(stock=5))
    gone = catalog.add(make_product(active=False))
    user = principal()
    cart.put(user, (kept, 1), (gone, 1))
    with pytest.raises(ProductNotFound) as caught:
        await service.checkout(user, ADDRESS)
    assert gone.id in caught.value.detail
    assert catalog.reservations == {}
    assert catalog.stock(kept.id) == 5


async def test_insufficient_stock_names_the_short_products_and_takes_nothing(
    service: OrderService, cart: FakeCart, catalog: FakeCatalog
) -> None:
    plenty = catalog.add(make_product(stock=5))
    short = catalog.add(make_product(stock=1))
    user = principal()
    cart.put(user, (plenty, 2), (short, 2))
    with pytest.raises(InsufficientStock) as caught:
        await service.checkout(user, ADDRESS)
    assert caught.value.product_ids == [short.id]
    assert (catalog.stock(plenty.id), catalog.stock(short.id)) == (5, 1)
    assert user.id in cart.carts  # the cart is kept for another try


@pytest.mark.parametrize("after_write", [False, True])
async def test_a_failed_store_gives_the_stock_back_unless_the_order_landed(
    store: Store, cart: FakeCart, catalog: FakeCatalog, after_write: bool
) -> None:
    service = make_service(FailingAdd(store.orders, after_write=after_write), cart, catalog)  # type: ignore[arg-type]
    product = catalog.add(make_product(stock=3))
    user = principal()
    cart.put(user, (product, 2))
    if after_write:
        # The write landed although the store reported a failure: the order stands.
        order = (await service.checkout(user, ADDRESS)).order
        assert await store.orders.get(order.id) == order
        assert catalog.stock(product.id) == 1
        assert catalog.released == set()
    else:
        with pytest.raises(TimeoutError):
            await service.checkout(user, ADDRESS)
        assert catalog.stock(product.id) == 3
        assert len(catalog.released) == 1
        assert user.id in cart.carts


async def test_a_cart_that_cannot_be_cleared_does_not_undo_the_order(
    service: OrderService, cart: FakeCart, catalog: FakeCatalog, store: Store
) -> None:
    product = catalog.add(make_product(stock=3))
    user = principal()
    cart.put(user, (product, 1))
    cart.fail_clear = True
    order = (await service.checkout(user, ADDRESS)).order
    assert await store.orders.get(order.id) == order
    assert catalog.stock(product.id) == 2
    # The cart still holds the ordered line, but the claim stays: a double tap cannot order it.
    with pytest.raises(CheckoutInProgress):
        await service.checkout(user, ADDRESS)
    assert catalog.stock(product.id) == 2


async def test_a_key_replays_its_order_and_refuses_another_body(
    service: OrderService, cart: FakeCart, catalog: FakeCatalog
) -> None:
    product = catalog.add(make_product(stock=9))
    user = principal()
    cart.put(user, (product, 2))
    first = await service.checkout(user, ADDRESS, "key-1")
    cart.put(user, (product, 3))  # a new cart does not matter to a replay
    again = await service.checkout(user, ADDRESS, "key-1")
    assert (again.order.id, again.replayed) == (first.order.id, True)
    assert catalog.stock(product.id) == 7
    with pytest.raises(IdempotencyKeyReused):
        await service.checkout(user, replace(ADDRESS, city="Lahore"), "key-1")
    # Another user's identical key is their own.
    other = principal()
    cart.put(other, (product, 1))
    theirs = await service.checkout(other, ADDRESS, "key-1")
    assert theirs.order.id != first.order.id


async def test_a_failed_attempt_frees_its_key(
    service: OrderService, cart: FakeCart, catalog: FakeCatalog, store: Store
) -> None:
    product = catalog.add(make_product(stock=1))
    user = principal()
    cart.put(user, (product, 2))
    with pytest.raises(InsufficientStock):
        await service.checkout(user, ADDRESS, "retry-me")
    assert await store.orders.get_idempotency_key(user.id, "retry-me") is None
    cart.put(user, (product, 1))
    result = await service.checkout(user, ADDRESS, "retry-me")
    assert result.replayed is False
    assert catalog.stock(product.id) == 0


async def test_racing_duplicates_wait_for_one_attempt(
    service: OrderService, cart: FakeCart, catalog: FakeCatalog
) -> None:
    product = catalog.add(make_product(stock=10))
    user = principal()
    cart.put(user, (product, 4))
    results = await asyncio.gather(*(service.checkout(user, ADDRESS, "k") for _ in range(5)))
    assert len({r.order.id for r in results}) == 1
    assert sorted(r.replayed for r in results) == [False, True, True, True, True]
    assert catalog.stock(product.id) == 6
    assert len(catalog.reservations) == 1


async def test_a_dead_attempts_key_is_taken_over_under_its_order_id(
    store: Store, cart: FakeCart, catalog: FakeCatalog
) -> None:
    service = make_service(store.orders, cart, catalog, idempotency_lease=timedelta(seconds=30))
    product = catalog.add(make_product(stock=5))
    user = principal()
    cart.put(user, (product, 2))
    stale = utc_now() - timedelta(minutes=5)
    dead = IdempotencyRecord(
        user_id=user.id,
        key="k",
        request_hash=request_fingerprint(ADDRESS),
        order_id=new_id(),
        created_at=stale,
        claimed_at=stale,
    )
    await store.orders.claim_idempotency_key(dead)
    # The dead attempt had reserved already: finishing under its id must not reserve twice.
    await catalog.reserve(dead.order_id, [])
    result = await service.checkout(user, ADDRESS, "k")
    assert result.order.id == dead.order_id
    assert catalog.stock(product.id) == 5  # the fake kept the (empty) first reservation


async def test_a_live_attempt_is_waited_for_then_409(
    store: Store, cart: FakeCart, catalog: FakeCatalog
) -> None:
    service = make_service(store.orders, cart, catalog, idempotency_wait=0.1)
    user = principal()
    now = utc_now()
    held = IdempotencyRecord(user.id, "k", request_fingerprint(ADDRESS), new_id(), now, now)
    await store.orders.claim_idempotency_key(held)
    with pytest.raises(IdempotencyKeyInProgress):
        await service.checkout(user, ADDRESS, "k")


async def test_a_cancel_whose_release_failed_succeeds_and_is_healed_by_a_retry(
    service: OrderService, cart: FakeCart, catalog: FakeCatalog
) -> None:
    product = catalog.add(make_product(stock=4))
    owner = principal()
    cart.put(owner, (product, 3))
    order = (await service.checkout(owner, ADDRESS)).order
    catalog.fail_next_release = True
    # The status changed: that is the answer, though the stock comes back only on a retry.
    cancelled = await service.cancel(owner, order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert (await service.get_order(owner, order.id)).status is OrderStatus.CANCELLED
    assert catalog.stock(product.id) == 1
    with pytest.raises(InvalidTransition):
        await service.cancel(owner, order.id)
    assert catalog.stock(product.id) == 4
    with pytest.raises(InvalidTransition):  # and never twice
        await service.cancel(owner, order.id)
    assert catalog.stock(product.id) == 4


class ClaimLandsThenFails(FakeCart):
    """A cart whose claim is written but whose answer is lost (a timeout, a cancel after COMMIT)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail_next_claim = True

    async def claim(self, user: Principal, checkout_id: str) -> Cart:
        cart = await super().claim(user, checkout_id)
        if self.fail_next_claim:
            self.fail_next_claim = False
            raise ConnectionError("the claim's reply was lost")
        return cart


async def test_a_claim_that_landed_but_failed_is_released_so_a_retry_succeeds(
    store: Store, catalog: FakeCatalog
) -> None:
    cart = ClaimLandsThenFails()
    service = make_service(store.orders, cart, catalog)
    product = catalog.add(make_product(stock=3))
    user = principal()
    cart.put(user, (product, 1))
    with pytest.raises(ConnectionError):
        await service.checkout(user, ADDRESS)
    assert user.id not in cart.claims  # released, not left to lapse with its lease
    order = (await service.checkout(user, ADDRESS)).order  # at once: no checkout_in_progress
    assert catalog.stock(product.id) == 2
    assert await store.orders.get(order.id) == order
