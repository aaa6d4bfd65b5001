"""``shopkit orders``: follow orders through ``pending -> ... -> delivered``, or cancel them."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from shopkit_cli.output import (
    Column,
    confirm,
    emit_list,
    emit_object,
    emit_table,
    fail,
    info,
    print_json,
    require_yes_or_terminal,
    success,
)
from shopkit_cli.params import (
    AllPagesOption,
    JsonOption,
    PageOption,
    PageSizeOption,
    YesOption,
    examples,
    money,
)
from shopkit_cli.session import async_command, open_client, want_json

if TYPE_CHECKING:
    from shopkit.types import Order, OrderStatus

app = typer.Typer(help="Follow, advance and cancel orders.", no_args_is_help=True)


class Status(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    processing = "processing"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"


FLOW = ["pending", "confirmed", "processing", "shipped", "delivered"]
FINAL = {"delivered", "cancelled"}

LIST_COLUMNS = [
    Column("id", "id"),
    Column("status", "status"),
    Column("total", "total", justify="right"),
    Column("item_count", "items", justify="right"),
    Column("user_id", "user"),
    Column("created_at", "placed"),
]
FIELDS = [
    Column("id", "id"),
    Column("user_id", "user"),
    Column("status", "status"),
    Column("payment_method", "payment"),
    Column("payment_status", "paid"),
    Column("subtotal", "subtotal"),
    Column("shipping_cost", "shipping"),
    Column("tax", "tax"),
    Column("total", "total"),
    Column("ship_to", "ship to"),
    Column("created_at", "placed"),
    Column("updated_at", "updated"),
]
ITEM_COLUMNS = [
    Column("product_id", "product"),
    Column("name", "name"),
    Column("price", "price", justify="right"),
    Column("quantity", "qty", justify="right"),
    Column("item_total", "total", justify="right"),
]
HISTORY_COLUMNS = [
    Column("status", "status"),
    Column("payment_status", "payment"),
    Column("at", "at"),
]

IdArg = Annotated[str, typer.Argument(help="The order's id.", show_default=False)]


def next_status(current: str) -> str | None:
    """The next step of the flow, or None when the order is final."""
    if current in FLOW[:-1]:
        return FLOW[FLOW.index(current) + 1]
    return None


def _summary(order: Order) -> dict[str, Any]:
    data: dict[str, Any] = order.model_dump(mode="json")
    data["item_count"] = sum(item.quantity for item in order.items)
    address = order.shipping_address
    data["ship_to"] = f"{address.full_name}, {address.city}, {address.country}"
    return data


@app.command(
    "list",
    epilog=examples(
        "shopkit orders list --all --status pending",
        "shopkit orders list --all | cut -f1",
    ),
)
@async_command
async def list_orders(
    status: Annotated[Status | None, typer.Option(help="Only orders in this status.")] = None,
    all_users: Annotated[
        bool, typer.Option("--all", help="Everyone's orders, not just yours (admins).")
    ] = False,
    page: PageOption = 1,
    page_size: PageSizeOption = 20,
    all_pages: AllPagesOption = False,
    as_json: JsonOption = False,
) -> None:
    """List orders, newest first."""
    wanted: OrderStatus | None = status.value if status else None
    async with open_client() as client:
        if all_pages:
            from shopkit_cli.paging import PAGE_SIZE, fetch_all

            orders = await fetch_all(
                lambda n: client.orders.list(
                    status=wanted, all=all_users, page=n, page_size=PAGE_SIZE
                ),
                "orders",
            )
            has_more = None
        else:
            result = await client.orders.list(
                status=wanted, all=all_users, page=page, page_size=page_size
            )
            orders, has_more = result.items, result
    if want_json(as_json):
        print_json(orders)
    else:
        emit_list([_summary(o) for o in orders], LIST_COLUMNS, as_json=False, empty="no orders")
    if has_more is not None and has_more.has_next:
        info(
            f"page {page}, {len(orders)} of {has_more.total} orders; "
            f"--page {page + 1} for more, or --all-pages"
        )


@app.command(
    "get",
    epilog=examples(
        "shopkit orders get ORDER_ID",
        "shopkit orders get ORDER_ID --json | jq .total",
    ),
)
@async_command
async def get_order(order_id: IdArg, as_json: JsonOption = False) -> None:
    """Show an order with its lines and status history."""
    async with open_client() as client:
        order = await client.orders.get(order_id)
    _show(order, as_json=want_json(as_json))


def _show(order: Order, *, as_json: bool) -> None:
    if as_json:
        print_json(order)
        return
    emit_object(_summary(order), FIELDS, as_json=False)
    emit_table([item.model_dump(mode="json") for item in order.items], ITEM_COLUMNS, "Items")
    emit_table(
        [change.model_dump(mode="json") for change in order.status_history],
        HISTORY_COLUMNS,
        "Status history",
    )


@app.command(
    "advance",
    epilog=examples(
        "shopkit orders advance ORDER_ID              # to the next status",
        "shopkit orders advance ORDER_ID --to shipped",
    ),
)
@async_command
async def advance_order(
    order_id: IdArg,
    to: Annotated[
        Status | None,
        typer.Option("--to", help="Target status (default: the next one in the flow)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Move an order on: pending -> confirmed -> processing -> shipped -> delivered (admins)."""
    async with open_client() as client:
        order = await client.orders.get(order_id)
        target = to.value if to else next_status(order.status)
        if target is None:
            fail(f"order {order.id} is {order.status}, a final status: it cannot move on")
        # The server decides what is allowed; a refused move ends as its 409 reason.
        updated = await client.orders.update_status(order.id, status=cast("OrderStatus", target))
    success(f"order {updated.id}: {order.status} -> {updated.status}")
    _show(updated, as_json=want_json(as_json))


@app.command(
    "cancel",
    epilog=examples(
        "shopkit orders cancel ORDER_ID",
        "shopkit orders cancel ORDER_ID --yes         # in a script",
    ),
)
@async_command
async def cancel_order(
    order_id: IdArg, yes: YesOption = False, as_json: JsonOption = False
) -> None:
    """Cancel a pending or confirmed order; its stock goes back (asks first)."""
    require_yes_or_terminal(yes=yes, action="cancelling an order")
    async with open_client() as client:
        current = await client.orders.get(order_id)
        confirm(
            f"Cancel order {current.id} ({current.status}, total {current.total})?",
            yes=yes,
            action="cancelling an order",
        )
        order = await client.orders.cancel(current.id)
    success(f"order {order.id} cancelled; its stock is back")
    _show(order, as_json=want_json(as_json))


@app.command(
    "pay",
    epilog=examples(
        "shopkit orders pay ORDER_ID                  # cash on delivery received",
        "shopkit orders pay ORDER_ID --amount 172.98  # must be the total",
    ),
)
@async_command
async def pay_order(
    order_id: IdArg,
    amount: Annotated[
        str | None,
        typer.Option(help="What was received; must equal the order's total.", show_default=False),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the cash or bank transfer that paid a manual order (admins)."""
    received = money(amount, "--amount") if amount is not None else None
    async with open_client() as client:
        order = await client.payments.record(order_id, amount=received)
    success(f"order {order.id} is paid ({order.total})")
    _show(order, as_json=want_json(as_json))
