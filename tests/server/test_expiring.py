"""ExpiringKeys: what revoked token families and SQLite's long reads are remembered by."""

from __future__ import annotations

from shopkit_server.expiring import ExpiringKeys


def test_a_key_is_remembered_until_its_time_then_forgotten() -> None:
    keys: ExpiringKeys[str] = ExpiringKeys(max_entries=10)
    keys.add("a", until=10.0, now=0.0)
    assert keys.contains("a", now=9.99)
    assert not keys.contains("a", now=10.0)
    assert len(keys) == 0  # forgotten on the way
    keys.add("b", until=5.0, now=5.0)  # not after now: not remembered
    assert not keys.contains("b", now=0.0) and len(keys) == 0


def test_the_later_time_wins_and_the_oldest_added_goes_first() -> None:
    keys: ExpiringKeys[str] = ExpiringKeys(max_entries=2)
    keys.add("a", until=20.0, now=0.0)
    keys.add("a", until=10.0, now=0.0)  # an earlier time does not shorten it
    assert keys.contains("a", now=15.0)
    keys.add("b", until=20.0, now=0.0)
    keys.add("a", until=30.0, now=0.0)  # added again: now the newest
    keys.add("c", until=20.0, now=0.0)  # past the bound: "b", added longest ago, goes
    assert [k for k in "abc" if keys.contains(k, now=1.0)] == ["a", "c"]
