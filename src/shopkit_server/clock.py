"""The current time, as every store can keep it.

BSON dates hold milliseconds; truncating here keeps a record equal to itself after a round trip
through either backend.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
