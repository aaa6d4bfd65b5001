"""The sync client is generated from the async one and pinned to it."""

from __future__ import annotations

import importlib.util
import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest

import shopkit
from shopkit import resources
from shopkit._sync import resources as sync_resources

ROOT = Path(__file__).resolve().parents[2]


def _unasync() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync", ROOT / "scripts" / "unasync.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_files_are_up_to_date() -> None:
    generated = _unasync().generate()
    assert generated, "nothing generated"
    stale = [str(p.relative_to(ROOT)) for p, text in generated.items() if p.read_text() != text]
    assert stale == [], "edit the async source and run: uv run python scripts/unasync.py"


PAIRS = [
    (shopkit.AsyncShopClient, shopkit.ShopClient),
    *[
        (getattr(resources, name), getattr(sync_resources, "Sync" + name[5:]))
        for name in resources.__all__
    ],
]


def _public(cls: type) -> dict[str, object]:
    return {
        name: member
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") or name in ("__enter__", "__aenter__")
    }


def _normal(text: str) -> str:
    """A signature with the async spellings turned into the sync ones."""
    text = re.sub(r"\bAsyncIterator\b", "Iterator", text)
    text = re.sub(r"\bAsyncShopClient\b", "ShopClient", text)
    text = re.sub(r"\bhttpx\.AsyncClient\b", "httpx.Client", text)
    text = re.sub(r"\bAsync([A-Z]\w*)", r"Sync\1", text)
    text = re.sub(r"Awaitable\[((?:[^\[\]]|\[[^\[\]]*\])*)\]", r"\1", text)
    return text.replace("__aenter__", "__enter__")


def _sig(function: object) -> str:
    # A sentinel default (``object()``) differs by address only.
    return re.sub(r" at 0x[0-9a-f]+", "", str(inspect.signature(function)))  # type: ignore[arg-type]


@pytest.mark.parametrize("pair", PAIRS, ids=lambda pair: pair[1].__name__)
def test_sync_twin_has_the_same_methods_and_signatures(pair: tuple[type, type]) -> None:
    async_cls, sync_cls = pair
    async_members, sync_members = _public(async_cls), _public(sync_cls)
    renamed = {"aclose": "close", "__aenter__": "__enter__"}
    assert {renamed.get(n, n) for n in async_members} == set(sync_members)
    for name, member in async_members.items():
        twin = sync_members[renamed.get(name, name)]
        if not callable(member):
            continue
        assert _normal(_sig(member)) == _sig(twin), name
        if inspect.iscoroutinefunction(member):
            assert not inspect.iscoroutinefunction(twin), name
