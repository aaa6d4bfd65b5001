"""``AttributeDump`` writes what the response model writes, byte for byte (pages of products)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any

import pytest
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, create_model, field_validator

from shopkit_server import wire
from shopkit_server.attribute_dump import AttributeDump
from shopkit_server.pagination import PageContent, PageParams, PageResult
from shopkit_server.products.models import Product, ProductImage, ProductOption, Variant
from shopkit_server.products.router import ProductPage
from shopkit_server.store.sqlite.variants import stored_json

IST = timezone(timedelta(hours=5, minutes=30))
AT = datetime(2026, 5, 1, 9, 30, 0, 123456, tzinfo=UTC)


def _product(index: int, **fields: Any) -> Product:
    values: dict[str, Any] = {
        "id": f"{index:024x}",
        "sku": f"SKU-{index}",
        "name": f"Product {index}",
        "description": "",
        "price": Decimal("19.99"),
        "category": "Audio",
        "tags": [],
        "image_url": None,
        "stock": 0,
        "is_active": True,
        "is_featured": False,
        "created_at": AT,
        "updated_at": AT,
    }
    values.update(fields)
    return Product(**values)


AWKWARD = [
    _product(1),  # no variants, no options, no images, base_price from price
    _product(
        2,
        sku=None,
        name='Ünïcødé "quoted" \\ back\\slash 😀 \u2028 — 名前',
        description="line one\nline two\ttabbed\r\n\x00\x1f\x7f </script>",
        price=Decimal("0.10"),
        base_price=Decimal("1E+3"),
        tags=["café", "bench", ""],
        image_url='https://example.com/a.png?x=1&y="2"',
        stock=7,
        is_featured=True,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),  # no microseconds
        updated_at=datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=IST),
        options=[ProductOption("Size", ["S", "M", "XL"]), ProductOption("Farbe", ["Grün"])],
        variants=[
            Variant("a" * 24, "V-1", {"Size": "S", "Farbe": "Grün"}, 3, True, None, None),
            Variant(
                "b" * 24,
                None,
                {"Size": "XL", "Farbe": "Grün"},
                4,
                False,
                Decimal("90089999999909.91"),
                "https://example.com/v.png",
            ),
            Variant("c" * 24, "V-3", {}, 0, True, Decimal("0.00"), None),
        ],
        images=[
            ProductImage("https://example.com/a.png", "front ☀"),
            ProductImage("https://example.com/b.png"),
        ],
    ),
    _product(
        3,
        price=Decimal("123456789.123456789"),
        base_price=Decimal("0"),
        is_active=False,
        stock=1_000_000_000,
        variants=[Variant("d" * 24, "D", {}, 1_000_000_000)],
    ),
]

PAGES = [
    PageContent.of(PageResult(AWKWARD, 3), PageParams(), "products", "newest"),
    PageContent.of(
        PageResult(AWKWARD[1:], 10_000, next_key=("2026-05-01", 7), total_exact=False),
        PageParams(page=1, page_size=2, after=("2026-06-01", 9)),
        "products",
        "newest",
    ),
    PageContent.of(PageResult([], 0), PageParams(page=4, page_size=100), "search", "relevance"),
]


def _pydantic(content: PageContent[Product]) -> bytes:
    """What the page was written as before: each item validated into ``ProductOut``."""
    return ProductPage.model_validate(content, from_attributes=True).model_dump_json().encode()


@pytest.mark.parametrize("content", PAGES)
def test_a_page_is_written_as_the_model_writes_it(content: PageContent[Product]) -> None:
    dump = AttributeDump(ProductPage)
    # Outside a route money is a float, as the model writes it ...
    assert dump.json(content) == _pydantic(content)
    # ... and inside one the marked strings that wire.write_exact turns into exact numbers.
    with wire.exact_numbers() as marks:
        ours, theirs = dump.json(content), _pydantic(content)
    assert ours == theirs
    assert all(mark in ours for mark in marks) or not content.items
    exact = wire.write_exact(ours, marks)
    assert exact == wire.write_exact(theirs, marks)
    if content.items:
        text = exact.decode()
        assert '"price":0.10,' in text or '"price":19.99,' in text
        parsed = json.loads(exact, parse_float=Decimal)
        assert parsed["items"][0]["base_price"] in (Decimal("19.99"), Decimal("1000"))
        prices = [v["price"] for item in parsed["items"] for v in item["variants"]]
        assert Decimal("90089999999909.91") in prices or not content.items[0].variants


def test_the_awkward_page_has_every_awkward_value() -> None:
    """The page above really holds what it claims (so the equality means something)."""
    with wire.exact_numbers() as marks:
        body = wire.write_exact(AttributeDump(ProductPage).json(PAGES[0]), marks).decode()
    assert '"sku":null' in body and '"image_url":null' in body
    assert '"price":0.10,' in body and '"base_price":1000,' in body
    assert '"price":90089999999909.91,' in body and '"price":null' in body
    assert '"price":123456789.123456789,' in body and '"base_price":0,' in body
    assert "😀" in body and "\\u0000" in body and '\\"quoted\\"' in body
    assert '"created_at":"2026-01-02T03:04:05Z"' in body
    assert '"updated_at":"2026-01-02T03:04:05.000001+05:30"' in body
    assert '"options":[{"name":"Size","values":["S","M","XL"]}' in body


class _Inner(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    label: str


class _Outer(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    amount: int = Field(validation_alias=AliasChoices("first", "second"))
    inner: _Inner | None
    by_name: dict[str, _Inner]
    optional_list: list[_Inner] | None
    fallback: str = "the default"
    made: list[str] = Field(default_factory=lambda: ["made"])


class _Thing:
    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


def test_aliases_defaults_and_nesting_read_as_from_attributes_does() -> None:
    dump = AttributeDump(_Outer)
    things = [
        _Thing(first=1, second=2, inner=None, by_name={}, optional_list=None),
        _Thing(  # only the second alias, defaults taken
            second=2,
            inner=_Thing(label="in"),
            by_name={"k": _Thing(label="v"), "é": _Thing(label="w")},
            optional_list=[_Thing(label="x")],
        ),
        _Thing(
            first=3,
            inner=_Thing(label="i"),
            by_name={},
            optional_list=[],
            fallback="given",
            made=[],
        ),
    ]
    for thing in things:
        expected = _Outer.model_validate(thing, from_attributes=True).model_dump_json()
        assert dump.json(thing) == expected.encode()
    with pytest.raises(AttributeError):
        dump.json(_Thing(first=1))  # a required field missing is an error, not a guess


class _WithValidator(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class _WithSerializationAlias(BaseModel):
    name: str = Field(serialization_alias="Name")


class _WithConstraint(BaseModel):
    count: Annotated[int, Field(ge=0)]


class _WithFloat(BaseModel):
    ratio: float


class _WithConfig(BaseModel):
    model_config = ConfigDict(ser_json_timedelta="float")

    name: str


class _WithUnion(BaseModel):
    value: int | str


@pytest.mark.parametrize(
    "model",
    [
        _WithValidator,
        _WithSerializationAlias,
        _WithConstraint,
        _WithFloat,
        _WithConfig,
        _WithUnion,
        create_model("_WithKeyword", **{"class": (str, ...)}),  # type: ignore[call-overload]
        create_model("_WithDash", **{"a-b": (str, ...)}),  # type: ignore[call-overload]
    ],
)
def test_a_model_it_cannot_write_exactly_is_refused(model: type[BaseModel]) -> None:
    with pytest.raises(TypeError):
        AttributeDump(model)


@pytest.mark.parametrize(
    "text",
    ['["a", "b"]', "[]", "{}", '{"Size": "M", "É": "ü"}', ' ["lead"]', '["trail"] ', "[1]x", "x"],
)
def test_stored_json_reads_what_json_loads_reads(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except json.JSONDecodeError as error:
        with pytest.raises(json.JSONDecodeError) as raised:
            stored_json(text)
        assert str(raised.value) == str(error)
    else:
        assert stored_json(text) == expected
