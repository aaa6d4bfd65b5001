"""How the SQLite store writes times: fixed-width UTC text, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from shopkit_server.store.sqlite.db import from_db_time, to_db_time


def test_a_utc_time_is_written_with_microseconds_and_its_offset() -> None:
    assert (
        to_db_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000+00:00"
    )
    moment = datetime(2026, 12, 31, 23, 59, 59, 123000, tzinfo=UTC)
    assert to_db_time(moment) == "2026-12-31T23:59:59.123000+00:00"


def test_another_offset_is_written_as_the_same_instant_in_utc() -> None:
    karachi = timezone(timedelta(hours=5))
    moment = datetime(2026, 1, 1, 2, 30, tzinfo=karachi)
    assert to_db_time(moment) == "2025-12-31T21:30:00.000000+00:00"
    assert from_db_time(to_db_time(moment)) == moment


def test_text_order_is_time_order() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    moments = [start + timedelta(microseconds=step * 999_999) for step in range(50)]
    texts = [to_db_time(m) for m in moments]
    assert len({len(text) for text in texts}) == 1
    assert sorted(texts) == texts
    assert [from_db_time(text) for text in texts] == moments
