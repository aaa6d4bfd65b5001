"""MongoDB plumbing shared by the domain modules.

The backend is written against PyMongo's native async API (``pymongo.AsyncMongoClient``, the
successor of Motor). The CI stand-in (mongomock-motor) speaks Motor's dialect, which differs in
one place we use: ``aggregate()`` is a coroutine in PyMongo and returns a cursor directly in
Motor; :func:`aggregate` accepts both. Nothing here relies on multi-document transactions: a
standalone ``mongod`` has none, so every write is a single-document atomic update, guarded by
unique indexes, or compensated.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from bson import Decimal128
from bson.codec_options import CodecOptions

Document = dict[str, Any]
# Typed loosely on purpose: the same code drives pymongo's AsyncDatabase and the stand-in.
MongoDatabase = Any
MongoCollection = Any


async def aggregate(
    collection: MongoCollection, pipeline: Sequence[Mapping[str, Any]]
) -> list[Document]:
    cursor = collection.aggregate(list(pipeline))
    if inspect.isawaitable(cursor):
        cursor = await cursor
    return list(await cursor.to_list(None))


def to_decimal128(amount: Decimal) -> Decimal128:
    return Decimal128(amount)


def from_decimal128(value: Any) -> Decimal:
    if isinstance(value, Decimal128):
        return value.to_decimal()
    return Decimal(str(value))


CODEC_OPTIONS: CodecOptions[Document] = CodecOptions(tz_aware=True)
