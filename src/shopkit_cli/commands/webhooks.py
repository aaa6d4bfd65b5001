"""``shopkit webhooks``: endpoints that receive the shop's events, and their delivery log."""

from __future__ import annotations

from typing import Annotated

import typer

from shopkit_cli.output import Column, emit_list, emit_object, info, print_json, success
from shopkit_cli.params import JsonOption, PageOption, PageSizeOption, examples
from shopkit_cli.session import async_command, open_client, want_json

app = typer.Typer(help="Webhook endpoints and their deliveries (admins).", no_args_is_help=True)

LIST_COLUMNS = [
    Column("id", "id"),
    Column("url", "url"),
    Column("events", "events"),
    Column("active", "active"),
    Column("created_at", "created"),
]
CREATED_FIELDS = [
    Column("id", "id"),
    Column("url", "url"),
    Column("events", "events"),
    Column("active", "active"),
    Column("secret", "secret"),
]
DELIVERY_COLUMNS = [
    Column("id", "id"),
    Column("event_type", "event"),
    Column("state", "state"),
    Column("attempts", "attempts", justify="right"),
    Column("response_status", "status", justify="right"),
    Column("last_error", "error"),
    Column("created_at", "created"),
]


@app.command("list", epilog=examples("shopkit webhooks list", "shopkit webhooks list --json"))
@async_command
async def list_webhooks(as_json: JsonOption = False) -> None:
    """List the endpoints (secrets are never shown again)."""
    async with open_client() as client:
        hooks = await client.webhooks.list()
    if want_json(as_json):
        print_json(hooks)
        return
    rows = [{**h.model_dump(mode="json"), "events": ",".join(h.event_types)} for h in hooks]
    emit_list(rows, LIST_COLUMNS, as_json=False, empty="no webhooks")


@app.command(
    "create",
    epilog=examples(
        "shopkit webhooks create https://erp.example.com/hooks/shop",
        "shopkit webhooks create https://mail.example/h --event order.paid",
    ),
)
@async_command
async def create_webhook(
    url: Annotated[str, typer.Argument(help="Where to POST events (https).", show_default=False)],
    event: Annotated[
        list[str] | None,
        typer.Option("--event", help="An event type to send (repeat it); default: every event."),
    ] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help="Register it switched off.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Register an endpoint and print its signing secret (shown only this once)."""
    async with open_client() as client:
        hook = await client.webhooks.create(
            url=url, event_types=event or ["*"], active=not inactive
        )
    if want_json(as_json):
        print_json(hook)
        return
    success(f"webhook {hook.id} created; keep its secret, it is not shown again")
    emit_object(
        {**hook.model_dump(mode="json"), "events": ",".join(hook.event_types)},
        CREATED_FIELDS,
        as_json=False,
    )


@app.command(
    "deliveries",
    epilog=examples(
        "shopkit webhooks deliveries WEBHOOK_ID",
        "shopkit webhooks deliveries WEBHOOK_ID --json | jq '.[].state'",
    ),
)
@async_command
async def list_deliveries(
    webhook_id: Annotated[str, typer.Argument(help="The endpoint's id.", show_default=False)],
    page: PageOption = 1,
    page_size: PageSizeOption = 20,
    as_json: JsonOption = False,
) -> None:
    """The endpoint's delivery log, newest event first."""
    async with open_client() as client:
        result = await client.webhooks.deliveries(webhook_id, page=page, page_size=page_size)
    if want_json(as_json):
        print_json(result.items)
        return
    rows = [{**d.model_dump(mode="json"), "event_type": d.event.type} for d in result.items]
    emit_list(rows, DELIVERY_COLUMNS, as_json=False, empty="no deliveries")
    if result.has_next:
        info(f"page {page} of {result.total} deliveries; --page {page + 1} for more")
