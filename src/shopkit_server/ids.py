"""Ids: opaque 24-hex strings, the ObjectId form on every backend (API.md, Conventions)."""

from __future__ import annotations

import re

from bson import ObjectId

_ID = re.compile(r"[0-9a-f]{24}")


def new_id() -> str:
    """A fresh id; ObjectIds start with a timestamp, so ids roughly sort by creation."""
    return str(ObjectId())


def is_valid_id(value: str) -> bool:
    """Whether ``value`` could be an id at all. Callers answer 404 (not 422) when it could not."""
    # fullmatch: with match and "$", 24 hex digits and a trailing newline would pass.
    return _ID.fullmatch(value) is not None
