"""The catalog version's two grains: the whole catalog, and one product."""

from __future__ import annotations

from shopkit_server.products.version import CatalogVersion


def test_the_per_product_versions_stay_bounded() -> None:
    version = CatalogVersion(max_tracked=3)
    version.bump(["a", "b"])
    assert (version.value, version.of_product("a"), version.of_product("c")) == (1, 1, 0)
    version.bump(["c"])
    assert (version.of_product("a"), version.of_product("c")) == (1, 2)
    version.bump(["d"])  # a fourth product: beyond the bound, every product moves
    assert {version.of_product(p) for p in "abcdz"} == {3}
    version.bump(["a"])
    assert (version.of_product("a"), version.of_product("b"), version.value) == (4, 3, 4)
    version.bump()
    assert {version.of_product(p) for p in "abz"} == {5}
