"""The one-operation checkout (``CheckoutStore.place_order``), on every store that has one.

SQLite and PostgreSQL place an order in one transaction; the mongo stand-in has no
multi-document transaction, so it has no ``checkout`` and the order service compensates there
(tests/server/orders cover that path on every store).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

import pytest

from shopkit_server.cart.errors import CheckoutInProgress
from shopkit_server.cart.models import CartItem
from shopkit_server.clock import utc_now
from shopkit_server.ids import new_id
from shopkit_server.orders.errors import CartEmpty
from shopkit_server.orders.models import (
    IDEMPOTENCY_KEY_TTL,
    Address,
    IdempotencyRecord,
    Order,
    OrderItem,
    OrderStatus,
    StatusChange,
)
from shopkit_server.orders.repository import CatalogEntry, CheckoutStore, Placement, line_key
from shopkit_server.orders.service import compute_totals
from shopkit_server.products.errors import (
    InsufficientStock,
    ProductNotFound,
    ReservationMismatch,
    ReservationReleased,
)
from shopkit_server.products.models import Product, StockLine
from shopkit_server.store import Store
from tests.store.test_products_contract import make_category, product

ADDRESS = Address(
    full_name="Ayesha Khan",
    address_line1="12 Clifton Rd",
    city="Karachi",
    postal_code="75500",
    country="PK",
    phone="+92 300 1234567",
)


@pytest.fixture
async def checkout(store: Store) -> CheckoutStore:
    if store.checkout is None:
        pytest.skip(f"{store.backend} has no one-operation checkout (it compensates)")
    await make_category(store, "Kitchen")
    return store.checkout


def pricing(user_id: str, order_id: str, calls: list[int] | None = None):  # type: ignore[no-untyped-def]
    """A price callback that does NOT check stock, so the store's own guard is what answers."""

    def price(lines: Sequence[StockLine], found: Mapping[str, CatalogEntry]) -> Order:
        if calls is not None:
            calls.append(len(lines))
        if not lines:
            raise CartEmpty()
        # Entries are keyed by each line's variant (line_key).
        gone = [line.product_id for line in lines if line_key(line) not in found]
        if gone:
            raise ProductNotFound()
        items = [
            OrderItem(
                product_id=line.product_id,
                name=found[line_key(line)].name,
                price=found[line_key(line)].price,
                quantity=line.quantity,
                item_total=found[line_key(line)].price * line.quantity,
                variant_id=found[line_key(line)].variant_id,
            )
            for line in lines
        ]
        totals = compute_totals(items, tax_rate=Decimal("0.05"), shipping=Decimal("0.00"))
        now = utc_now()
        return Order(
            id=order_id,
            user_id=user_id,
            items=items,
            subtotal=totals.subtotal,
            shipping_cost=totals.shipping_cost,
            tax=totals.tax,
            total=totals.total,
            shipping_address=ADDRESS,
            status=OrderStatus.PENDING,
            status_history=[StatusChange(OrderStatus.PENDING, now)],
            created_at=now,
            updated_at=now,
        )

    return price


def placement(
    user_id: str,
    order_id: str | None = None,
    *,
    key: str | None = None,
    calls: list[int] | None = None,
) -> Placement:
    order_id = order_id or new_id()
    now = utc_now()
    record = (
        IdempotencyRecord(user_id, key, "hash", order_id, now, now) if key is not None else None
    )
    return Placement(
        user_id=user_id,
        order_id=order_id,
        key=record,
        cart_stale_before=now - timedelta(seconds=60),
        price=pricing(user_id, order_id, calls),
    )


async def stocked(store: Store, price: str = "9.99", stock: int = 10) -> Product:
    made = product(price=price, stock=stock)
    await store.products.create(made)
    return made


async def fill(store: Store, user_id: str, *lines: tuple[Product, int]) -> None:
    for made, quantity in lines:
        await store.carts.add_item(
            user_id,
            CartItem(made.id, made.name, made.price, quantity, variant_id=made.variants[0].id),
            max_quantity=99,
            max_lines=100,
            now=utc_now(),
        )


async def stock(store: Store, made: Product) -> int:
    found = await store.products.get(made.id)
    assert found is not None
    return found.stock


async def test_an_order_is_placed_whole(store: Store, checkout: CheckoutStore) -> None:
    mug, tea = await stocked(store, "0.10", 5), await stocked(store, "19.99", 3)
    user = new_id()
    await fill(store, user, (mug, 3), (tea, 1))

    placed = await checkout.place_order(placement(user, key="k-1"))

    assert isinstance(placed, Order)
    assert [(i.product_id, i.quantity) for i in placed.items] == [(mug.id, 3), (tea.id, 1)]
    assert placed.subtotal == Decimal("20.29")  # exact money
    assert await store.orders.get(placed.id) == placed
    assert (await stock(store, mug), await stock(store, tea)) == (2, 2)
    assert (await store.carts.get(user)).items == []
    key = await store.orders.get_idempotency_key(user, "k-1")
    assert key is not None and key.order_id == placed.id
    # The reservation id is the order id: releasing it gives the stock back, once.
    await store.products.release(placed.id)
    await store.products.release(placed.id)
    assert (await stock(store, mug), await stock(store, tea)) == (5, 3)


async def test_one_short_line_leaves_stock_cart_and_key_untouched(
    store: Store, checkout: CheckoutStore
) -> None:
    plenty, scarce = await stocked(store, stock=10), await stocked(store, stock=1)
    user = new_id()
    await fill(store, user, (plenty, 2), (scarce, 2))
    before = await store.carts.get(user)

    with pytest.raises(InsufficientStock) as short:
        await checkout.place_order(placement(user, key="k-short"))

    assert short.value.product_ids == [scarce.id]
    assert (await stock(store, plenty), await stock(store, scarce)) == (10, 1)
    assert await store.carts.get(user) == before
    assert await store.orders.get_idempotency_key(user, "k-short") is None
    assert (await store.orders.list(user_id=user, status=None, offset=0, limit=5)).total == 0


async def test_a_key_held_for_another_order_is_answered_and_nothing_written(
    store: Store, checkout: CheckoutStore
) -> None:
    mug = await stocked(store, stock=4)
    user = new_id()
    await fill(store, user, (mug, 1))
    now = utc_now()
    other = IdempotencyRecord(user, "k-held", "hash", new_id(), now, now)
    await store.orders.claim_idempotency_key(other)

    held = await checkout.place_order(placement(user, key="k-held"))

    assert held == other
    assert await stock(store, mug) == 4
    assert len((await store.carts.get(user)).items) == 1


async def test_an_expired_key_is_taken_for_the_new_order(
    store: Store, checkout: CheckoutStore
) -> None:
    mug = await stocked(store, stock=4)
    user = new_id()
    await fill(store, user, (mug, 1))
    old = utc_now() - IDEMPOTENCY_KEY_TTL - timedelta(minutes=1)
    await store.orders.claim_idempotency_key(
        IdempotencyRecord(user, "k-old", "hash", new_id(), old, old)
    )

    placed = await checkout.place_order(placement(user, key="k-old"))

    assert isinstance(placed, Order)
    key = await store.orders.get_idempotency_key(user, "k-old")
    assert key is not None and key.order_id == placed.id


async def test_another_live_checkout_holds_the_cart(store: Store, checkout: CheckoutStore) -> None:
    mug = await stocked(store, stock=4)
    user = new_id()
    await fill(store, user, (mug, 1))
    now = utc_now()
    claimed = await store.carts.claim_checkout(
        user, new_id(), now=now, stale_before=now - timedelta(seconds=60)
    )
    assert claimed is not None

    with pytest.raises(CheckoutInProgress):
        await checkout.place_order(placement(user, key="k-busy"))
    assert await stock(store, mug) == 4
    assert await store.orders.get_idempotency_key(user, "k-busy") is None

    # A claim older than the lease is dead: the next checkout takes the cart.
    late = placement(user)
    late = Placement(late.user_id, late.order_id, None, now + timedelta(seconds=1), late.price)
    assert isinstance(await checkout.place_order(late), Order)
    assert await stock(store, mug) == 3


async def test_an_empty_cart_writes_nothing(store: Store, checkout: CheckoutStore) -> None:
    user = new_id()
    calls: list[int] = []
    with pytest.raises(CartEmpty):
        await checkout.place_order(placement(user, key="k-empty", calls=calls))
    assert calls == [0]  # priced with no lines
    assert await store.orders.get_idempotency_key(user, "k-empty") is None


async def test_a_retry_under_a_held_reservation_takes_no_stock_twice(
    store: Store, checkout: CheckoutStore
) -> None:
    mug = await stocked(store, stock=5)
    user, order_id = new_id(), new_id()
    await fill(store, user, (mug, 2))
    # An earlier attempt of this order (the compensating path) reserved under its id, per
    # variant as that path reserves.
    await store.products.reserve(order_id, [StockLine(mug.id, 2, mug.variants[0].id)])
    assert await stock(store, mug) == 3

    placed = await checkout.place_order(placement(user, order_id))

    assert isinstance(placed, Order)
    assert await stock(store, mug) == 3  # taken once


async def test_a_released_reservation_under_the_order_id_takes_nothing(
    store: Store, checkout: CheckoutStore
) -> None:
    mug = await stocked(store, stock=5)
    user, order_id = new_id(), new_id()
    await fill(store, user, (mug, 2))
    await store.products.reserve(order_id, [StockLine(mug.id, 2, mug.variants[0].id)])
    await store.products.release(order_id)  # that attempt gave its stock back: spent for good

    with pytest.raises(ReservationReleased):
        await checkout.place_order(placement(user, order_id, key="k-spent"))

    assert await stock(store, mug) == 5
    assert await store.orders.get(order_id) is None
    assert await store.orders.get_idempotency_key(user, "k-spent") is None
    assert [i.quantity for i in (await store.carts.get(user)).items] == [2]


async def test_a_reservation_of_other_lines_under_the_order_id_is_a_mismatch(
    store: Store, checkout: CheckoutStore
) -> None:
    mug = await stocked(store, stock=5)
    user, order_id = new_id(), new_id()
    await fill(store, user, (mug, 2))
    await store.products.reserve(order_id, [StockLine(mug.id, 1, mug.variants[0].id)])

    with pytest.raises(ReservationMismatch):
        await checkout.place_order(placement(user, order_id))

    assert await stock(store, mug) == 4  # only the earlier reservation's unit
    assert await store.orders.get(order_id) is None


async def test_an_order_taking_the_last_units_reports_the_product_out_of_stock(
    store: Store, checkout: CheckoutStore
) -> None:
    mug, tea = await stocked(store, stock=2), await stocked(store, stock=3)
    user = new_id()
    await fill(store, user, (mug, 2), (tea, 1))

    placed = await checkout.place_order(placement(user))

    assert isinstance(placed, Order)
    assert [e.type for e in await store.webhooks.events(f"order:{placed.id}")] == ["order.placed"]
    emptied = await store.webhooks.events(f"product:{mug.id}")
    assert [(e.type, e.data["product"]) for e in emptied] == [
        ("product.out_of_stock", {"id": mug.id, "name": mug.name, "stock": 0})
    ]
    assert await store.webhooks.events(f"product:{tea.id}") == []  # 2 left


async def test_six_buyers_racing_for_the_last_unit_sell_it_once(
    store: Store, checkout: CheckoutStore
) -> None:
    last = await stocked(store, stock=1)
    users = [new_id() for _ in range(6)]
    for user in users:
        await fill(store, user, (last, 1))
    entered = 0
    entered_when_first_answered: int | None = None

    async def buy(user: str) -> Order | IdempotencyRecord | BaseException:
        nonlocal entered, entered_when_first_answered
        entered += 1
        try:
            return await checkout.place_order(placement(user, key="race"))
        except InsufficientStock as exc:
            return exc
        finally:
            if entered_when_first_answered is None:
                entered_when_first_answered = entered

    results = await asyncio.gather(*(buy(user) for user in users))

    # Every buyer was inside place_order before the first one had its answer.
    assert entered_when_first_answered == len(users)
    placed = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, InsufficientStock)]
    assert (len(placed), len(refused)) == (1, 5)
    assert all(r.product_ids == [last.id] for r in refused)
    assert await stock(store, last) == 0
    winner = placed[0].user_id
    for user in users:  # the losers keep their carts; the winner's is spent
        assert len((await store.carts.get(user)).items) == (0 if user == winner else 1)


async def test_expired_keys_are_swept(store: Store) -> None:
    user = new_id()
    now = utc_now()
    old = now - IDEMPOTENCY_KEY_TTL - timedelta(minutes=1)
    await store.orders.claim_idempotency_key(
        IdempotencyRecord(user, "old", "hash", new_id(), old, old)
    )
    await store.orders.claim_idempotency_key(
        IdempotencyRecord(user, "new", "hash", new_id(), now, now)
    )
    swept = await store.orders.sweep_idempotency_keys(now - IDEMPOTENCY_KEY_TTL)
    # Mongo's TTL index may have expired the record first (the stand-in does so on read).
    assert swept == 1 or (store.backend == "mongodb" and swept == 0)
    assert await store.orders.sweep_idempotency_keys(now - IDEMPOTENCY_KEY_TTL) == 0
    assert await store.orders.get_idempotency_key(user, "new") is not None
