"""MongoDB: variants embedded in their product document, and the aggregates beside them.

``variants: [{id, sku?, option_values, option_keys, combo, price?, stock, is_active,
image_url}]`` lives in the product document, so taking stock of a variant is one conditional
update of one document (``variants.$.stock`` and the product ``stock`` together, guarded by
``stock >= quantity``). ``variant_skus`` (absent when empty, for the sparse unique index)
keeps skus unique over every variant of every product. Admin writes of variants read the
document, compute the new variant list and aggregates (``products.models.aggregate``), and
write them back only if ``version`` has not moved; every stock change bumps ``version``, so
an admin write never overwrites a reservation.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from shopkit_server.ids import new_id
from shopkit_server.money import quantize
from shopkit_server.products.models import (
    Product,
    ProductImage,
    ProductOption,
    Variant,
    aggregate,
    option_keys,
    option_words,
)
from shopkit_server.products.variants import option_keys_text
from shopkit_server.store.mongo.db import (
    Document,
    MongoCollection,
    from_decimal128,
    to_decimal128,
)


def encode_variant(variant: Variant) -> Document:
    doc: Document = {
        "id": variant.id,
        "option_values": dict(variant.option_values),
        "option_keys": option_keys(variant.option_values),
        "combo": option_keys_text(variant.option_values),
        "price": None if variant.price is None else to_decimal128(variant.price),
        "stock": variant.stock,
        "is_active": variant.is_active,
        "image_url": variant.image_url,
    }
    if variant.sku is not None:
        doc["sku"] = variant.sku
    return doc


def decode_variant(doc: Document) -> Variant:
    price = doc.get("price")
    return Variant(
        id=doc["id"],
        sku=doc.get("sku"),
        option_values=dict(doc.get("option_values", {})),
        stock=int(doc["stock"]),
        is_active=bool(doc.get("is_active", True)),
        price=None if price is None else quantize(from_decimal128(price)),
        image_url=doc.get("image_url"),
    )


def encode_options(options: list[ProductOption]) -> list[Document]:
    return [{"name": o.name, "values": list(o.values)} for o in options]


def decode_options(value: Any) -> list[ProductOption]:
    return [ProductOption(name=o["name"], values=list(o["values"])) for o in value or []]


def encode_images(images: list[ProductImage]) -> list[Document]:
    return [{"url": i.url, "alt": i.alt} for i in images]


def decode_images(value: Any) -> list[ProductImage]:
    return [ProductImage(url=i["url"], alt=i.get("alt", "")) for i in value or []]


def derived(
    base_price: Any, variants: list[Variant], images: list[ProductImage]
) -> tuple[Document, Document]:
    """``($set, $unset)`` of the variant fields and aggregates of a product."""
    price, stock, image_url = aggregate(base_price, variants, images)
    fields: Document = {
        "variants": [encode_variant(v) for v in variants],
        "price": to_decimal128(price),
        "stock": stock,
        "image_url": image_url,
        "images": encode_images(images),
        "option_words": option_words(variants),
    }
    skus = [v.sku for v in variants if v.sku is not None]
    unset: Document = {}
    if skus:
        fields["variant_skus"] = skus
    else:
        unset["variant_skus"] = ""
    return fields, unset


def product_fields(product: Product) -> Document:
    """The variant part of a new product's document."""
    fields, _ = derived(product.own_price, product.variants, product.images)
    fields["base_price"] = to_decimal128(product.own_price)
    fields["options"] = encode_options(product.options)
    fields["version"] = 0
    return fields


async def backfill(products: MongoCollection) -> None:
    """Give every product stored before variants its default variant (idempotent).

    Each write is conditional on the stock it read, so a reservation landing meanwhile makes
    the write miss and the document is done again on the next start.
    """
    cursor = products.find(
        {"variants": {"$exists": False}}, {"sku": 1, "stock": 1, "price": 1, "image_url": 1}
    )
    async for doc in cursor:
        variant: Document = {
            "id": new_id(),
            "option_values": {},
            "option_keys": [],
            "combo": "|",
            "price": None,
            "stock": int(doc.get("stock", 0)),
            "is_active": True,
            "image_url": None,
        }
        fields: Document = {
            "variants": [variant],
            "base_price": doc["price"],
            "options": [],
            "images": [{"url": doc["image_url"], "alt": ""}] if doc.get("image_url") else [],
            "option_words": "",
            "version": 0,
        }
        if doc.get("sku") is not None:
            variant["sku"] = doc["sku"]
            fields["variant_skus"] = [doc["sku"]]
        await products.update_one(
            {
                "_id": ObjectId(doc["_id"]),
                "variants": {"$exists": False},
                "stock": doc.get("stock"),
            },
            {"$set": fields},
        )
