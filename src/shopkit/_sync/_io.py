"""The sync twin of ``shopkit/_io.py`` (written by hand; the rest of ``_sync`` is generated)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from shopkit.types.auth import TokenPair

TokenCallback = Callable[[TokenPair], None]
"""Called with every token pair the client receives: persist it there."""

Lock = threading.Lock


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def notify(callback: TokenCallback, tokens: TokenPair) -> None:
    callback(tokens)
