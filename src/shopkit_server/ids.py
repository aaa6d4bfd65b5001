"""Ids: opaque 24-hex strings, the ObjectId form on every backend (API.md, Conventions)."""

from __future__ import annotations

import itertools
import os
import re
import time

_ID = re.compile(r"[0-9a-f]{24}")


def _fresh_state() -> tuple[int, itertools.count[int]]:
    # ObjectId's layout: 4 bytes of seconds, 5 random bytes drawn once per process, a 3-byte
    # counter from a random start. The random part is kept shifted to its place.
    process = int.from_bytes(os.urandom(5), "big") << 24
    return process, itertools.count(int.from_bytes(os.urandom(3), "big"))


_process, _counter = _fresh_state()


def _after_fork() -> None:
    global _process, _counter
    _process, _counter = _fresh_state()


# A forked child must not repeat its parent's ids (bson checks os.getpid() on every id instead,
# a system call that was most of the cost of an id).
os.register_at_fork(after_in_child=_after_fork)


def new_id() -> str:
    """A fresh id; ObjectIds start with a timestamp, so ids roughly sort by creation.

    The same 12 bytes as ``str(bson.ObjectId())`` (seconds, a per-process random part, a
    counter), built without the driver's per-id lock and ``getpid``. ``next`` on the counter is
    atomic under the GIL, so threads never share an id.
    """
    seconds = int(time.time()) & 0xFFFFFFFF
    return f"{seconds << 64 | _process | next(_counter) & 0xFFFFFF:024x}"


def is_valid_id(value: str) -> bool:
    """Whether ``value`` could be an id at all. Callers answer 404 (not 422) when it could not."""
    # fullmatch: with match and "$", 24 hex digits and a trailing newline would pass.
    return _ID.fullmatch(value) is not None
