"""``shopkit categories list [--tree] | create | delete``."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Admin, Cli, one_line_error


async def test_create_list_and_tree(cli: Cli, logged_in: Admin) -> None:
    root = await cli("categories", "create", "Electronics", "--sort-order", "1", "--json")
    assert root.exit_code == 0, root.output
    electronics = json.loads(root.stdout)
    assert electronics["slug"] == "electronics" and electronics["parent"] is None
    child = await cli("categories", "create", "Audio", "--parent", "electronics", "--json")
    assert child.exit_code == 0, child.output
    assert json.loads(child.stdout)["parent"] == "Electronics"
    assert (await cli("categories", "create", "Books", "--sort-order", "2")).exit_code == 0

    flat = json.loads((await cli("categories", "list", "--json")).stdout)
    # By sort_order (Audio has the default 0), then name.
    assert [(c["name"], c["parent"]) for c in flat] == [
        ("Audio", "Electronics"),
        ("Electronics", None),
        ("Books", None),
    ]

    tree = json.loads((await cli("categories", "list", "--tree", "--json")).stdout)
    assert [c["name"] for c in tree] == ["Electronics", "Books"]
    assert [c["name"] for c in tree[0]["children"]] == ["Audio"]

    plain = (await cli("categories", "list", "--tree")).stdout.splitlines()
    assert [line.split("\t")[0] for line in plain] == ["Electronics", "  Audio", "Books"]


async def test_duplicates_and_unknown_parents_are_refused(cli: Cli, logged_in: Admin) -> None:
    assert (await cli("categories", "create", "Home & Garden")).exit_code == 0
    dup = await cli("categories", "create", "home-garden")
    assert "HTTP 409 category_exists" in one_line_error(dup)
    orphan = await cli("categories", "create", "Leaf", "--parent", "Nowhere")
    assert orphan.exit_code == 1
    assert "no category named 'Nowhere'" in one_line_error(orphan)


async def test_delete_needs_yes_and_refuses_categories_in_use(
    cli: Cli, logged_in: Admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (await cli("categories", "create", "Audio")).exit_code == 0
    assert (await cli("categories", "create", "Empty")).exit_code == 0
    made = await cli(
        "products", "create", "--name", "Speaker", "--price", "5", "--category", "Audio"
    )
    assert made.exit_code == 0, made.output

    no_yes = await cli("categories", "delete", "Empty")
    assert no_yes.exit_code == 2 and "needs --yes" in one_line_error(no_yes)
    in_use = await cli("categories", "delete", "audio", "--yes")
    assert in_use.exit_code == 1
    assert "HTTP 409 category_in_use" in one_line_error(in_use)
    gone = await cli("categories", "delete", "Empty", "--yes")
    assert gone.exit_code == 0, gone.output
    names = [c["name"] for c in json.loads((await cli("categories", "list", "--json")).stdout)]
    assert names == ["Audio"]
