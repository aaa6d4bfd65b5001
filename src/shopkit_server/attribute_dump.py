"""A response model's JSON written straight from the attributes of domain objects.

``Model.model_validate(obj, from_attributes=True).model_dump_json()`` builds a model for every
object (and for every nested one: a page of twenty products with their variants is some sixty
models), then walks them again to write JSON. :class:`AttributeDump` writes the same bytes
without building any model: it reads each field's attribute (its validation alias first, as
``from_attributes`` validation does), applies the field's own JSON serializer (money's
``json_number``), and hands plain dicts, lists and scalars to pydantic-core's JSON writer, the
one the model's dump uses, so strings, datetimes, numbers and key order come out the same.

The model stays the one definition of the shape: the dump is compiled from its fields when it
is built, and a model that uses anything this does not reproduce exactly (validators, field or
model serializers, computed fields, aliases on output, constraints, excluded fields, JSON
settings in its config, a field type other than those below) is refused then, with
``TypeError``, not written differently.

Field types: ``str``, ``int``, ``bool``, ``datetime``, ``X | None``, ``list[X]``,
``dict[str, X]``, a nested model (from its attributes too) and
``Annotated[X, PlainSerializer(...)]`` (called for JSON, its result written as pydantic writes
a value of ``return_type=Any``). The dump trusts the objects to hold values of the declared
types (the domain's type hints say so): unlike validation, it does not check them.
"""

from __future__ import annotations

import keyword
import types
import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

import pydantic_core
from pydantic import AliasChoices, BaseModel, PlainSerializer, WithJsonSchema

M = TypeVar("M", bound=BaseModel)
Convert = Callable[[Any], Any]

# What a model's dump passes through untouched: pydantic-core writes these values the same way
# whether they come through the model's schema or as plain values.
_PLAIN = (str, int, bool, datetime, type(None))
# Model settings that change how a model is written to JSON (refused: the dump would differ).
_SERIALIZATION_CONFIG = ("alias_generator", "serialize_by_alias", "use_enum_values")
_MISSING = object()


class _Field:
    """One field of a model: the names its value is read under and how it is converted."""

    def __init__(self, model: type[BaseModel], name: str) -> None:
        info = model.model_fields[name]
        where = f"{model.__name__}.{name}"
        if info.alias is not None or info.serialization_alias is not None or info.exclude:
            raise TypeError(f"{where}: aliases and exclude on output are not supported")
        alias = info.validation_alias
        if alias is None:
            self.names: tuple[str, ...] = (name,)
        elif isinstance(alias, str):
            self.names = (alias,)
        elif isinstance(alias, AliasChoices) and all(isinstance(c, str) for c in alias.choices):
            self.names = tuple(str(choice) for choice in alias.choices)
        else:
            raise TypeError(f"{where}: only plain validation aliases are supported")
        if not all(name.isidentifier() and not keyword.iskeyword(name) for name in self.names):
            raise TypeError(f"{where}: a name or alias that cannot be an attribute")
        self.key = name
        self.default: Any = info.get_default(call_default_factory=False)
        self.factory = info.default_factory
        self.convert = _converter(info.annotation, tuple(info.metadata), where)

    def read(self, obj: object) -> Any:
        """The field's value as ``from_attributes`` validation finds it: the first of its
        names the object has, else its default."""
        for name in self.names:
            value = getattr(obj, name, _MISSING)
            if value is not _MISSING:
                return value
        if self.factory is not None:
            return self.factory()  # type: ignore[call-arg]
        if self.default is pydantic_core.PydanticUndefined:
            raise AttributeError(f"{type(obj).__name__} has no attribute {self.names[0]!r}")
        return self.default


def _converter(annotation: Any, metadata: tuple[Any, ...], where: str) -> Convert | None:
    """The conversion of a value of ``annotation`` to what its JSON is written from (None:
    the value itself)."""
    serializer: Convert | None = None
    for item in metadata:
        if isinstance(item, PlainSerializer) and item.when_used in ("always", "json"):
            if item.return_type not in (Any, pydantic_core.PydanticUndefined):
                raise TypeError(f"{where}: only serializers returning Any are supported")
            if serializer is not None:
                raise TypeError(f"{where}: one serializer per field")
            serializer = item.func  # type: ignore[assignment]
        elif not isinstance(item, WithJsonSchema):  # a validator or a constraint
            raise TypeError(f"{where}: {item!r} is not supported")
    if serializer is not None:
        return serializer
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _converter(args[0], tuple(args[1:]), where)
    if origin in (typing.Union, types.UnionType):
        others = [arg for arg in args if arg is not type(None)]
        if len(others) != 1 or len(args) != 2:
            raise TypeError(f"{where}: only X | None unions are supported")
        inner = _converter(others[0], (), where)
        return None if inner is None else _unless_none(inner)
    if origin is list and len(args) == 1:
        inner = _converter(args[0], (), where)
        return None if inner is None else _each(inner)
    if origin is dict and len(args) == 2 and args[0] is str:
        inner = _converter(args[1], (), where)
        return None if inner is None else _each_value(inner)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return AttributeDump(annotation).plain
    if annotation in _PLAIN:
        return None
    raise TypeError(f"{where}: {annotation!r} is not supported")


def _unless_none(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


class _Each:
    """The conversion of a list: each item's (written inline in a model's dump function)."""

    def __init__(self, item: Convert) -> None:
        self.item = item

    def __call__(self, values: Any) -> list[Any]:
        return [self.item(value) for value in values]


def _each(convert: Convert) -> Convert:
    return _Each(convert)


def _each_value(convert: Convert) -> Convert:
    return lambda values: {key: convert(value) for key, value in values.items()}


def _check_model(model: type[BaseModel]) -> None:
    decorators = model.__pydantic_decorators__
    if any(
        (
            decorators.validators,
            decorators.field_validators,
            decorators.root_validators,
            decorators.model_validators,
            decorators.field_serializers,
            decorators.model_serializers,
            decorators.computed_fields,
        )
    ):
        raise TypeError(f"{model.__name__}: validators and serializers are not supported")
    config = model.model_config
    if any(key.startswith("ser_json") for key in config) or any(
        config.get(key) for key in _SERIALIZATION_CONFIG
    ):
        raise TypeError(f"{model.__name__}: JSON settings in model_config are not supported")


class AttributeDump(Generic[M]):
    """``model``'s JSON of objects that have its fields as attributes (see the module).

    The dump of an object is one function made for the model, as ``dataclasses`` makes a
    class's ``__init__``: a dict display of its attributes, each wrapped in its field's
    conversion, so a page of products costs no loop over fields per product. An object
    that lacks a field's first name (another of its validation aliases, or a default) is read
    field by field instead."""

    def __init__(self, model: type[M]) -> None:
        _check_model(model)
        self._fields = tuple(_Field(model, name) for name in model.model_fields)
        namespace: dict[str, Any] = {"_careful": self._careful}
        entries = []
        for index, field in enumerate(self._fields):
            value = f"obj.{field.names[0]}"
            if isinstance(field.convert, _Each):
                namespace[f"_convert_{index}"] = field.convert.item
                value = f"[_convert_{index}(item) for item in {value}]"
            elif field.convert is not None:
                namespace[f"_convert_{index}"] = field.convert
                value = f"_convert_{index}({value})"
            entries.append(f"{field.key!r}: {value}")
        source = (
            "def plain(obj):\n"
            "    try:\n"
            f"        return {{{', '.join(entries)}}}\n"
            "    except AttributeError:\n"
            "        return _careful(obj)\n"
        )
        exec(compile(source, f"<AttributeDump {model.__name__}>", "exec"), namespace)  # noqa: S102
        self.plain: Callable[[object], dict[str, Any]] = namespace["plain"]
        """The fields of an object as plain values, in the model's order, ready for JSON."""

    def _careful(self, obj: object) -> dict[str, Any]:
        values = {}
        for field in self._fields:
            value = field.read(obj)
            values[field.key] = value if field.convert is None else field.convert(value)
        return values

    def json(self, obj: object) -> bytes:
        """What ``model.model_validate(obj, from_attributes=True).model_dump_json()`` writes
        (encoded): the same JSON, key order and all."""
        return to_json(self.plain(obj))


def to_json(plain: Any) -> bytes:
    """Plain values written as a model's dump writes them (its defaults: ``NaN`` and infinities
    as ``null``, ISO 8601 datetimes, non-ASCII text as UTF-8)."""
    return pydantic_core.to_json(plain, inf_nan_mode="null")
