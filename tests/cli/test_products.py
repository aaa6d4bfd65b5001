"""``shopkit products list | get | create | update | delete``."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.cli.conftest import Admin, Cli, one_line_error


@pytest.fixture
async def shop(cli: Cli, logged_in: Admin) -> dict[str, str]:
    """Two categories and three products, made through the CLI; returns ids by sku."""
    assert (await cli("categories", "create", "Audio")).exit_code == 0
    assert (await cli("categories", "create", "Books")).exit_code == 0
    ids = {}
    for sku, name, price, category, extra in [
        ("AUD-1", "Headphones", "99.99", "Audio", ["--tags", "audio,wireless", "--featured"]),
        ("AUD-2", "Speaker", "49.50", "Audio", ["--stock", "0"]),
        ("BOO-1", "Novel [paperback]", "12.00", "Books", ["--stock", "7"]),
    ]:
        result = await cli(
            "products",
            "create",
            "--json",
            "--sku",
            sku,
            "--name",
            name,
            "--price",
            price,
            "--category",
            category,
            *extra,
        )
        assert result.exit_code == 0, result.output
        ids[sku] = json.loads(result.stdout)["id"]
    return ids


async def test_create_prints_the_product_as_json_with_money_as_exact_numbers(
    cli: Cli, shop: dict[str, str]
) -> None:
    result = await cli("products", "get", shop["AUD-1"], "--json")
    assert result.exit_code == 0, result.output
    # A JSON number with its exact digits, as the API writes it (one convention everywhere).
    assert '"price": 99.99,' in result.stdout
    product = json.loads(result.stdout, parse_float=Decimal)
    assert product["price"] == Decimal("99.99")
    assert product["tags"] == ["audio", "wireless"]
    assert product["is_featured"] is True
    assert product["category"] == "Audio"
    assert set(product) >= {"id", "sku", "name", "stock", "created_at", "updated_at"}


async def test_list_json_filters_and_plain_output(cli: Cli, shop: dict[str, str]) -> None:
    everything = json.loads((await cli("products", "list", "--json")).stdout)
    assert {p["sku"] for p in everything} == {"AUD-1", "AUD-2", "BOO-1"}
    assert all(isinstance(p["price"], float) for p in everything)

    audio = json.loads((await cli("products", "list", "-c", "audio", "--json")).stdout)
    assert {p["sku"] for p in audio} == {"AUD-1", "AUD-2"}
    cheap = json.loads(
        (await cli("products", "list", "--max-price", "50", "--sort", "price_asc", "--json")).stdout
    )
    assert [p["sku"] for p in cheap] == ["BOO-1", "AUD-2"]
    stocked = json.loads((await cli("products", "list", "--in-stock", "--json")).stdout)
    assert {p["sku"] for p in stocked} == {"BOO-1"}
    featured = json.loads((await cli("products", "list", "--featured", "--json")).stdout)
    assert [p["sku"] for p in featured] == ["AUD-1"]
    tagged = json.loads((await cli("products", "list", "-t", "wireless", "--json")).stdout)
    assert [p["sku"] for p in tagged] == ["AUD-1"]

    # Piped: one tab-separated line per product, id first, no header, no markup eaten.
    plain = await cli("products", "list", "--sort", "name")
    lines = plain.stdout.splitlines()
    assert [line.split("\t")[1] for line in lines] == ["AUD-1", "BOO-1", "AUD-2"]
    assert lines[1].split("\t")[:5] == [shop["BOO-1"], "BOO-1", "Novel [paperback]", "12.00", "7"]


async def test_paging(cli: Cli, shop: dict[str, str]) -> None:
    first = await cli("products", "list", "--page-size", "2", "--sort", "name", "--json")
    assert [p["sku"] for p in json.loads(first.stdout)] == ["AUD-1", "BOO-1"]
    assert "--page 2 for more" in first.stderr
    second = await cli(
        "products", "list", "--page-size", "2", "--page", "2", "--sort", "name", "--json"
    )
    assert [p["sku"] for p in json.loads(second.stdout)] == ["AUD-2"]
    every = await cli("products", "list", "--page-size", "1", "--all-pages", "--json")
    assert len(json.loads(every.stdout)) == 3


async def test_search(cli: Cli, shop: dict[str, str]) -> None:
    result = await cli("products", "list", "--search", "headphones", "--json")
    assert result.exit_code == 0, result.output
    assert [p["sku"] for p in json.loads(result.stdout)] == ["AUD-1"]


async def test_update_changes_only_what_is_given(cli: Cli, shop: dict[str, str]) -> None:
    result = await cli(
        "products",
        "update",
        shop["AUD-2"],
        "--price",
        "45",
        "--stock",
        "3",
        "--tags",
        "",
        "--json",
    )
    assert result.exit_code == 0, result.output
    product = json.loads(result.stdout)
    assert Decimal(product["price"]) == Decimal("45")
    assert product["stock"] == 3
    assert product["tags"] == []
    assert product["name"] == "Speaker"
    assert "updated product" in result.stderr
    nothing = await cli("products", "update", shop["AUD-2"])
    assert nothing.exit_code == 2
    assert "nothing to update" in one_line_error(nothing)


async def test_delete_asks_and_needs_yes_without_a_terminal(
    cli: Cli, shop: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = await cli("products", "delete", shop["AUD-2"])
    assert refused.exit_code == 2
    assert "needs --yes" in one_line_error(refused)
    assert "DELETE" not in " ".join(cli.writes())

    # On a terminal it asks; "n" keeps the product.
    from shopkit_cli import output

    with monkeypatch.context() as terminal:
        terminal.setattr(output, "stdin_is_terminal", lambda: True)
        kept = await cli("products", "delete", shop["AUD-2"], input="n\n")
        assert kept.exit_code == 1 and "aborted" in kept.stderr
        assert "DELETE" not in " ".join(cli.writes())
        gone = await cli("products", "delete", shop["AUD-2"], input="y\n")
        assert gone.exit_code == 0, gone.output
        assert "Delete product" in gone.stderr  # the question goes to stderr, not stdout

    listed = json.loads((await cli("products", "list", "--json")).stdout)
    assert shop["AUD-2"] not in {p["id"] for p in listed}
    hidden = json.loads((await cli("products", "list", "--include-inactive", "--json")).stdout)
    assert {p["id"]: p["is_active"] for p in hidden}[shop["AUD-2"]] is False
    revived = await cli("products", "update", shop["AUD-2"], "--active", "--json")
    assert json.loads(revived.stdout)["is_active"] is True


async def test_errors_are_one_line_with_the_servers_reason(cli: Cli, shop: dict[str, str]) -> None:
    missing = await cli("products", "get", "0" * 24)
    assert missing.exit_code == 1
    line = one_line_error(missing)
    assert "HTTP 404" in line and "request id" in line

    taken = await cli(
        "products",
        "create",
        "--sku",
        "AUD-1",
        "--name",
        "Dup",
        "--price",
        "1",
        "--category",
        "Audio",
    )
    assert "HTTP 409 sku_taken" in one_line_error(taken)
    unknown = await cli("products", "create", "--name", "X", "--price", "1", "--category", "Nope")
    assert unknown.exit_code == 1
    assert "Nope" in one_line_error(unknown)

    bad_price = await cli(
        "products", "create", "--name", "X", "--price", "1.234", "--category", "Audio"
    )
    assert bad_price.exit_code == 2
    assert "more than two decimals" in one_line_error(bad_price)
    bad_sort = await cli("products", "list", "--sort", "cheapest")
    assert bad_sort.exit_code == 2 and "Traceback" not in bad_sort.output


async def test_server_unreachable_is_one_line(
    cli: Cli, logged_in: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shopkit_cli import session

    monkeypatch.setattr(session, "http_client_factory", None)
    result = await cli("--base-url", "http://127.0.0.1:9/api", "products", "list")
    assert result.exit_code == 1
    line = one_line_error(result)
    assert "127.0.0.1:9" in line and "is the shop running?" in line


async def test_a_terminal_gets_a_rich_table(
    cli: Cli, shop: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # Rich treats the captured stdout as a terminal
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("NO_COLOR", "1")
    result = await cli("products", "list", "--sort", "name")
    assert result.exit_code == 0
    assert "┃ sku" in result.stdout or "│ sku" in result.stdout or " sku " in result.stdout
    assert "Novel [paperback]" in result.stdout  # markup-looking text printed as is
    assert "\t" not in result.stdout
