"""``shopkit webhooks list | create | deliveries``."""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI

from shopkit_server.webhooks.dispatcher import Dispatcher
from tests.cli.conftest import Admin, Cli, one_line_error
from tests.cli.test_orders import place_order
from tests.conftest import MakeUser


async def test_create_list_and_read_the_delivery_log(
    cli: Cli, logged_in: Admin, app: FastAPI, make_user: MakeUser
) -> None:
    app.state.ctx.webhooks.allow_private = True
    created = await cli(
        "webhooks", "create", "http://127.0.0.1:9/hook", "--event", "order.placed", "--json"
    )
    assert created.exit_code == 0, created.output
    hook = json.loads(created.stdout)
    assert hook["secret"].startswith("whsec_") and hook["event_types"] == ["order.placed"]
    table = await cli("webhooks", "list")
    assert hook["id"] in table.stdout and "whsec_" not in table.stdout
    unknown = await cli("webhooks", "create", "http://127.0.0.1:9/hook", "--event", "nope")
    assert unknown.exit_code == 1 and "unknown_event_type" in one_line_error(unknown)

    assert (await cli("categories", "create", "Audio")).exit_code == 0
    product = await cli(
        "products", "create", "--json", "--name", "Cable", "--price", "5.00",
        "--category", "Audio", "--stock", "5",
    )  # fmt: skip
    await place_order(app, await make_user(), json.loads(product.stdout)["id"], quantity=1)
    ctx = app.state.ctx
    # Nobody listens on port 9: the attempt fails and is scheduled again.
    await Dispatcher(
        ctx.store.webhooks, ctx.settings.model_copy(update={"webhooks_allow_private": True})
    ).run_once()
    log = await cli("webhooks", "deliveries", hook["id"], "--json")
    assert log.exit_code == 0, log.output
    (delivery,) = json.loads(log.stdout)
    assert (delivery["event"]["type"], delivery["state"], delivery["attempts"]) == (
        "order.placed",
        "pending",
        1,
    )
    assert delivery["last_error"]
    text = await cli("webhooks", "deliveries", hook["id"])
    assert "order.placed" in text.stdout


@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "ftp://example.com/x"])
async def test_a_private_url_is_refused(cli: Cli, logged_in: Admin, url: str) -> None:
    refused = await cli("webhooks", "create", url)
    assert refused.exit_code == 1 and "webhook_url_refused" in one_line_error(refused)
