"""Small request-side helpers: the NOT_GIVEN sentinel and query building."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, TypedDict

import httpx

__all__ = ["NOT_GIVEN", "NotGiven", "RequestOptions", "strip_not_given"]


class RequestOptions(TypedDict, total=False):
    """What every SDK method also takes, for that one call::

    shop.products.get(pid, extra_headers={"X-Trace": "abc"}, timeout=5)
    """

    extra_headers: Mapping[str, str]
    """Sent with this call, after (so over) the client's own headers."""
    timeout: float | httpx.Timeout
    """This call's time budget instead of the client's."""


class NotGiven:
    """Marks an argument the caller left out, so ``None`` can still mean "clear this field".

    ``products.update(pid, image_url=None)`` removes the image; leaving ``image_url`` out
    leaves it alone.
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


def strip_not_given(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries the caller actually gave."""
    return {k: v for k, v in values.items() if not isinstance(v, NotGiven)}


def query(values: Mapping[str, Any]) -> dict[str, Any]:
    """Query parameters without the ``None`` / NOT_GIVEN ones (an absent filter is no filter)."""
    return {
        k: v for k, v in values.items() if v is not None and not isinstance(v, NotGiven) and v != []
    }
