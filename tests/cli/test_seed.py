"""``shopkit seed``: JSON and CSV, dry runs, bad rows, idempotence, export round trips."""

from __future__ import annotations

import asyncio
import gc
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from shopkit_cli import session
from shopkit_server.app import create_app
from shopkit_server.security import Role
from shopkit_server.settings import Settings
from shopkit_server.store import open_store
from tests.cli.conftest import Admin, AppLoopTransport, Cli, one_line_error
from tests.conftest import PASSWORD, api_client

CATALOG: dict[str, Any] = {
    "categories": [
        {"name": "Electronics", "parent": None, "sort_order": 1},
        {"name": "Audio", "parent": "Electronics", "sort_order": 1},
        {"name": "Home", "sort_order": 2},
    ],
    "products": [
        {
            "sku": "AUD-001",
            "name": "Wireless Headphones",
            "description": "Noise cancelling.",
            "price": 99.99,
            "category": "Audio",
            "tags": ["audio", "wireless"],
            "image_url": "https://img.example/aud-001.jpg",
            "stock": 50,
            "is_active": True,
            "is_featured": True,
        },
        {"sku": "AUD-002", "name": "Speaker", "price": 49.5, "category": "Audio", "stock": 5},
        {
            "sku": "HOM-001",
            "name": "Lamp",
            "price": "19.90",
            "category": "Home",
            "tags": ["Light", "light "],
        },
    ],
}

CSV = """sku,name,description,price,category,tags,image_url,stock,is_active,is_featured
KIT-001,Chef Knife,Sharp.,35.00,Home > Kitchen,steel|knife,,12,true,false
KIT-002,Cutting Board,,12.5,Home > Kitchen,wood;board,,3,yes,no
GRD-001,Hose,,20,Garden,,,0,,
"""


def write(tmp_path: Path, name: str, content: Any) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


async def products_by_sku(app: FastAPI, token: str | None = None) -> dict[str, dict[str, Any]]:
    async with api_client(app) as anon:
        reply = await anon.get("/products", params={"page_size": 100})
    return {p["sku"]: p for p in reply.json()["items"]}


async def category_names(app: FastAPI) -> dict[str, str | None]:
    async with api_client(app) as anon:
        flat = (await anon.get("/categories")).json()
    names = {c["id"]: c["name"] for c in flat}
    return {c["name"]: names.get(c["parent_id"]) for c in flat}


async def test_seed_json_twice_second_run_changes_nothing(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path
) -> None:
    path = write(tmp_path, "catalog.json", CATALOG)
    first = await cli("seed", str(path), "--json")
    assert first.exit_code == 0, first.output
    assert gc.get_freeze_count() == 0  # the test process got its heap back
    report = json.loads(first.stdout)
    assert report["dry_run"] is False
    assert report["categories_created"] == ["Electronics", "Home", "Audio"]  # parents first
    assert report["products"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    assert report["failures"] == []

    stored = await products_by_sku(app)
    assert set(stored) == {"AUD-001", "AUD-002", "HOM-001"}
    assert Decimal(str(stored["AUD-001"]["price"])) == Decimal("99.99")
    assert stored["HOM-001"]["tags"] == ["light"]
    assert stored["AUD-001"]["category"] == "Audio"
    assert await category_names(app) == {"Electronics": None, "Audio": "Electronics", "Home": None}

    writes_before = len(cli.writes())
    second = await cli("seed", str(path), "--json")
    assert second.exit_code == 0, second.output
    again = json.loads(second.stdout)
    assert again["categories_created"] == []
    assert again["products"] == {"created": 0, "updated": 0, "unchanged": 3, "failed": 0}
    # The rows go to the bulk endpoint, which finds each equal to the stored product and
    # writes nothing: no other request, and every product as it was, updated_at included.
    assert cli.writes()[writes_before:] == ["POST /api/products/bulk"]
    assert await products_by_sku(app) == stored


async def test_dry_run_shows_the_plan_and_writes_nothing(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path
) -> None:
    path = write(tmp_path, "catalog.json", CATALOG)
    dry = await cli("seed", str(path), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)
    assert plan["dry_run"] is True
    assert plan["categories_created"] == ["Electronics", "Home", "Audio"]
    assert plan["products"] == {"created": 3, "updated": 0, "unchanged": 0, "failed": 0}
    assert cli.writes() == ["POST /api/auth/login"]  # only the fixture's login
    assert await products_by_sku(app) == {}
    assert await category_names(app) == {}

    # After a real run, change one product in the file: the dry run names it and its fields.
    assert (await cli("seed", str(path))).exit_code == 0
    changed = json.loads(json.dumps(CATALOG))
    changed["products"][1]["price"] = 44.0
    changed["products"][1]["stock"] = 6
    changed["products"].append({"sku": "NEW-1", "name": "New", "price": 1, "category": "Home"})
    path = write(tmp_path, "changed.json", changed)
    writes_before = len(cli.writes())
    dry = await cli("seed", str(path), "--dry-run", "--json")
    plan = json.loads(dry.stdout)
    assert plan["products"] == {"created": 1, "updated": 1, "unchanged": 2, "failed": 0}
    assert {"row": 2, "sku": "AUD-002", "action": "update", "fields": ["price", "stock"]} in plan[
        "changes"
    ]
    assert {"row": 4, "sku": "NEW-1", "action": "create", "fields": []} in plan["changes"]
    assert cli.writes()[writes_before:] == []
    assert (await products_by_sku(app))["AUD-002"]["stock"] == 5

    # Plain output (piped) is tab-separated: the plan, then the summary.
    text = await cli("seed", str(path), "--dry-run")
    assert "update\t2\tAUD-002\tSpeaker\tprice, stock" in text.stdout.splitlines()
    assert "products would be updated\t1" in text.stdout.splitlines()
    assert "dry run: nothing was written" in text.stderr


async def test_seed_csv_with_category_paths_and_both_tag_separators(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path
) -> None:
    path = write(tmp_path, "catalog.csv", CSV)
    result = await cli("seed", str(path), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["categories_created"] == ["Home", "Garden", "Kitchen"]
    assert report["products"]["created"] == 3
    stored = await products_by_sku(app)
    assert stored["KIT-001"]["tags"] == ["steel", "knife"]
    assert stored["KIT-002"]["tags"] == ["wood", "board"]
    assert stored["KIT-001"]["category"] == "Kitchen"
    assert stored["KIT-002"]["is_active"] is True and stored["KIT-002"]["is_featured"] is False
    assert stored["GRD-001"]["stock"] == 0
    assert await category_names(app) == {"Home": None, "Kitchen": "Home", "Garden": None}

    again = json.loads((await cli("seed", str(path), "--json")).stdout)
    assert again["products"] == {"created": 0, "updated": 0, "unchanged": 3, "failed": 0}


async def test_bad_rows_are_listed_and_the_exit_code_is_not_zero(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path
) -> None:
    catalog = {
        "products": [
            {"sku": "OK-1", "name": "Fine", "price": 10, "category": "Misc"},
            {"sku": "BAD-1", "name": "Too precise", "price": 1.999, "category": "Misc"},
            {"name": "No sku", "price": 3, "category": "Misc"},
            {"sku": "OK-1", "name": "Repeat", "price": 4, "category": "Misc"},
            {
                "sku": "BAD-2",
                "name": "Bad url",
                "price": 5,
                "category": "Misc",
                "image_url": "ftp://nope",
            },  # only the server knows: reported from the bulk answer
            {"sku": "BAD-3", "name": "x", "price": 5, "category": "Misc", "colour": "red"},
        ]
    }
    path = write(tmp_path, "bad.json", catalog)
    result = await cli("seed", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["products"]["created"] == 1
    failures = {f["row"]: f for f in report["failures"]}
    assert set(failures) == {2, 3, 4, 5, 6}
    assert "more than two decimals" in failures[2]["reason"]
    assert "sku is required" in failures[3]["reason"]
    assert "repeats row 1" in failures[4]["reason"]
    assert failures[5]["sku"] == "BAD-2" and "image_url" in failures[5]["reason"]
    assert "unknown field(s): colour" in failures[6]["reason"]
    assert "5 row(s) failed" in result.stderr and "Traceback" not in result.output
    assert set(await products_by_sku(app)) == {"OK-1"}

    # Human output lists the failed rows with their reasons.
    text = await cli("seed", str(path))
    assert text.exit_code == 1
    assert any(line.startswith("5\tBAD-2\t") for line in text.stdout.splitlines())


async def test_bad_csv_cells_fail_their_row_only(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "bad.csv",
        "sku,name,price,category,stock,is_featured\n"
        "A-1,Good,5,Misc,1,false\n"
        "A-2,Bad stock,5,Misc,many,false\n"
        "A-3,Bad flag,5,Misc,1,perhaps\n"
        "A-4,Bad price,abc,Misc,1,true\n",
    )
    result = await cli("seed", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(f["row"], f["sku"]) for f in report["failures"]] == [
        (3, "A-2"),
        (4, "A-3"),
        (5, "A-4"),
    ]
    assert set(await products_by_sku(app)) == {"A-1"}


async def test_a_file_the_seed_cannot_read_is_one_line(
    cli: Cli, logged_in: Admin, tmp_path: Path
) -> None:
    broken = write(tmp_path, "broken.json", "{nope")
    result = await cli("seed", str(broken))
    assert result.exit_code == 1
    assert "not valid JSON" in one_line_error(result)
    columns = write(tmp_path, "cols.csv", "sku,name,prise,category\n")
    result = await cli("seed", str(columns))
    line = one_line_error(result)
    assert "missing column(s) price" in line and "unknown column(s) prise" in line
    missing = await cli("seed", str(tmp_path / "nope.json"))
    assert missing.exit_code == 2  # a usage error: the argument names no file


async def test_small_batches_give_the_same_result(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path
) -> None:
    products = [
        {"sku": f"B-{i:03d}", "name": f"Item {i}", "price": i + 1, "category": "Bulk"}
        for i in range(7)
    ]
    products[4]["price"] = -1  # refused locally; the others still go, three per request
    path = write(tmp_path, "many.json", {"products": products})
    result = await cli("seed", str(path), "--batch-size", "3", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["products"]["created"] == 6
    assert [f["sku"] for f in report["failures"]] == ["B-004"]
    assert cli.writes().count("POST /api/products/bulk") == 2
    assert len(await products_by_sku(app)) == 6


async def test_the_next_batch_is_sent_while_the_server_writes_one(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    open_now = 0
    most = 0
    arrived: list[list[str]] = []

    class Counting(AppLoopTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal open_now, most
            if not request.url.path.endswith("/products/bulk"):
                return await super().handle_async_request(request)
            arrived.append([row["sku"] for row in json.loads(request.content)])
            open_now += 1
            most = max(most, open_now)
            try:
                await asyncio.sleep(0.05)  # long enough for the next request to arrive
                return await super().handle_async_request(request)
            finally:
                open_now -= 1

    monkeypatch.setattr(
        session, "http_client_factory", lambda: httpx.AsyncClient(transport=Counting(app, loop))
    )
    products = [
        {"sku": f"P-{i}", "name": f"Item {i}", "price": i + 1, "category": "Piped"}
        for i in range(5)
    ]
    path = write(tmp_path, "piped.json", {"products": products})
    result = await cli("seed", str(path), "--batch-size", "2", "--json")
    assert result.exit_code == 0, result.output
    assert most == 2  # two requests overlapped, never more
    assert arrived == [["P-0", "P-1"], ["P-2", "P-3"], ["P-4"]]
    assert json.loads(result.stdout)["products"]["created"] == 5
    assert sorted(await products_by_sku(app)) == [f"P-{i}" for i in range(5)]


@pytest.mark.parametrize("fmt", ["json", "csv"])
async def test_export_reads_back_with_nothing_to_change(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path, fmt: str
) -> None:
    source = write(tmp_path, "catalog.json", CATALOG)
    assert (await cli("seed", str(source))).exit_code == 0
    assert (await cli("seed", str(write(tmp_path, "more.csv", CSV)))).exit_code == 0
    # A soft-deleted product is exported too (inactive), and seeding it back keeps it so.
    listed = await products_by_sku(app)
    deleted = await cli("products", "delete", listed["AUD-002"]["id"], "--yes")
    assert deleted.exit_code == 0, deleted.output

    out = tmp_path / f"export.{fmt}"
    exported = await cli("products", "export", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    assert "exported 6 products" in exported.stderr
    if fmt == "json":
        data = json.loads(out.read_text())
        home = next(c for c in data["categories"] if c["name"] == "Home")
        assert [c["name"] for c in home["children"]] == ["Kitchen"]
        assert '"price": 99.99' in out.read_text()  # a JSON number, exact digits
    else:
        assert "Home > Kitchen" in out.read_text()

    writes_before = len(cli.writes())
    back = await cli("seed", str(out), "--json")
    assert back.exit_code == 0, back.output
    assert json.loads(back.stdout)["products"] == {
        "created": 0,
        "updated": 0,
        "unchanged": 6,
        "failed": 0,
    }
    assert cli.writes()[writes_before:] == ["POST /api/products/bulk"]  # which wrote nothing

    # Without -o the same text goes to stdout.
    stdout_export = await cli("products", "export", "--format", fmt)
    assert stdout_export.stdout == out.read_text()


async def test_seed_needs_an_admin(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path, "catalog.json", CATALOG)
    result = await cli("seed", str(path))
    assert result.exit_code == 1
    assert "not logged in" in one_line_error(result)


async def test_the_example_catalog_seeds_cleanly_twice(
    cli: Cli, logged_in: Admin, app: FastAPI
) -> None:
    example = Path(__file__).parents[2] / "examples" / "catalog.json"
    if not example.exists():
        pytest.skip("examples/catalog.json is not there yet")
    first = await cli("seed", str(example), "--json")
    assert first.exit_code == 0, first.output
    created = json.loads(first.stdout)["products"]["created"]
    assert created > 0
    second = json.loads((await cli("seed", str(example), "--json")).stdout)
    assert second["products"] == {"created": 0, "updated": 0, "unchanged": created, "failed": 0}


async def test_on_a_terminal_seed_shows_progress_and_tables(
    cli: Cli, logged_in: Admin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # Rich treats the captured streams as terminals
    monkeypatch.setenv("COLUMNS", "120")
    path = write(tmp_path, "catalog.json", CATALOG)
    result = await cli("seed", str(path))
    assert result.exit_code == 0, result.output
    assert "seeding products" in result.stderr and "3/3" in result.stderr  # the progress bar
    assert "products created" in result.stdout and "\t" not in result.stdout
    assert "seeded: 3 created, 0 updated, 0 unchanged" in result.stderr


async def test_a_refused_batch_fails_its_rows_and_the_rest_still_go(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    refused: list[str] = []

    class RefuseFirstBulk(AppLoopTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/products/bulk") and not refused:
                refused.append(request.url.path)
                return httpx.Response(
                    503,
                    json={"detail": "Busy, try later.", "code": "unavailable"},
                    headers={"x-request-id": "rid-503"},
                )
            return await super().handle_async_request(request)

    monkeypatch.setattr(
        session,
        "http_client_factory",
        lambda: httpx.AsyncClient(transport=RefuseFirstBulk(app, loop)),
    )
    path = write(tmp_path, "catalog.json", CATALOG)
    result = await cli("seed", str(path), "--batch-size", "2", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(f["sku"], f["reason"]) for f in report["failures"]] == [
        ("AUD-001", "Busy, try later. (request id rid-503)"),
        ("AUD-002", "Busy, try later. (request id rid-503)"),
    ]
    assert report["products"]["created"] == 1
    # Running it again finishes the job and nothing else.
    again = json.loads((await cli("seed", str(path), "--json")).stdout)
    assert again["products"] == {"created": 2, "updated": 0, "unchanged": 1, "failed": 0}


@pytest.mark.parametrize("fmt", ["json", "csv"])
async def test_export_rebuilds_the_catalog_in_an_empty_shop(
    cli: Cli,
    logged_in: Admin,
    app: FastAPI,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: str,
) -> None:
    assert (await cli("seed", str(write(tmp_path, "catalog.json", CATALOG)))).exit_code == 0
    assert (await cli("seed", str(write(tmp_path, "more.csv", CSV)))).exit_code == 0
    speaker = (await products_by_sku(app))["AUD-002"]["id"]
    assert (await cli("products", "delete", speaker, "--yes")).exit_code == 0
    out = tmp_path / f"export.{fmt}"
    assert (await cli("products", "export", "-o", str(out))).exit_code == 0

    other = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'other.db'}"})
    store = await open_store(other)
    try:
        empty = create_app(settings=other, store=store)
        async with LifespanManager(empty):
            await empty.state.ctx.auth.create_user(
                email="second@example.com", password=PASSWORD, name="Second", role=Role.ADMIN
            )
            loop = asyncio.get_running_loop()
            monkeypatch.setattr(
                session,
                "http_client_factory",
                lambda: httpx.AsyncClient(transport=AppLoopTransport(empty, loop)),
            )
            login = await cli(
                "--profile",
                "second",
                "login",
                "-e",
                "second@example.com",
                "--password-stdin",
                input=PASSWORD + "\n",
            )
            assert login.exit_code == 0, login.output
            seeded = await cli("--profile", "second", "seed", str(out), "--json")
            assert seeded.exit_code == 0, seeded.output
            assert json.loads(seeded.stdout)["products"]["created"] == 6
            rebuilt = await cli("--profile", "second", "products", "export", "--format", fmt)
            rebuilt_tree = await category_names(empty)
    finally:
        await store.close()
    assert rebuilt.stdout == out.read_text()  # same products, fields, flags and tree
    assert rebuilt_tree == await category_names(app)


VARIANT_CSV = (
    (
        "sku,name,price,category,product_sku,option1_name,option1_value,option2_name,option2_value,"
        "stock,variant_price\n"
    )
    + """\
TEE-S-NVY,Tee,20.00,Clothing,TEE,Size,S,Colour,Navy,5,
TEE-M-NVY,,,,TEE,Size,M,Colour,Navy,1,22.00
TEE-M-GRY,,,,TEE,Size,M,Colour,Grey,0,
LAMP-1,Lamp,9.00,Home,,,,,,3,
"""
)


async def test_seed_csv_with_variants_is_idempotent_by_variant_sku(
    cli: Cli, logged_in: Admin, app: FastAPI, tmp_path: Path
) -> None:
    path = tmp_path / "variants.csv"
    path.write_text(VARIANT_CSV)
    first = await cli("seed", str(path), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["products"]["created"] == 2
    stored = await products_by_sku(app)
    tee = stored["TEE"]
    assert [o["name"] for o in tee["options"]] == ["Size", "Colour"]
    assert tee["options"][1]["values"] == ["Navy", "Grey"]
    by_sku = {v["sku"]: v for v in tee["variants"]}
    assert set(by_sku) == {"TEE-S-NVY", "TEE-M-NVY", "TEE-M-GRY"}
    assert (by_sku["TEE-M-NVY"]["price"], by_sku["TEE-S-NVY"]["stock"]) == (22.0, 5)
    assert (tee["stock"], tee["price"]) == (6, 20.0)
    assert [v["sku"] for v in stored["LAMP-1"]["variants"]] == ["LAMP-1"]
    again = json.loads((await cli("seed", str(path), "--json")).stdout)
    assert again["products"] == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0}
    path.write_text(
        VARIANT_CSV.replace(
            "TEE-M-GRY,,,,TEE,Size,M,Colour,Grey,0,", "TEE-M-GRY,,,,TEE,Size,M,Colour,Grey,4,"
        )
    )
    third = json.loads((await cli("seed", str(path), "--json")).stdout)
    assert third["products"] == {"created": 0, "updated": 1, "unchanged": 1, "failed": 0}
    assert (await products_by_sku(app))["TEE"]["stock"] == 10

    shown = await cli("products", "get", tee["id"])
    assert shown.exit_code == 0, shown.output
    assert "TEE-M-NVY" in shown.stdout and "M / Navy" in shown.stdout


def test_data_kept_to_the_end_is_built_without_the_collector_and_then_frozen() -> None:
    import gc

    from shopkit_cli.seeding import kept_to_the_end

    frozen_before = gc.get_freeze_count()
    try:
        with kept_to_the_end():
            assert not gc.isenabled()
            kept = [{"row": n} for n in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen_before + len(kept)
        gc.disable()  # a caller that had it off keeps it off
        with kept_to_the_end():
            pass
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_what_a_seed_froze_is_handed_back_to_the_collector_when_it_ends() -> None:
    from shopkit_cli.seeding import kept_to_the_end, released_at_the_end

    gc.unfreeze()
    with released_at_the_end():
        with kept_to_the_end():
            kept = [[i] for i in range(1000)]
        assert gc.get_freeze_count() >= len(kept)
    assert gc.get_freeze_count() == 0
