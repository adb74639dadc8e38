"""The in-memory replay guard: a token is admitted again only with the same fingerprint, until it expires."""

from datetime import UTC, datetime, timedelta

import pytest

from bounce_ingest.providers.replay import MemoryReplayGuard

T0 = datetime(2026, 11, 26, tzinfo=UTC)
LATER = T0 + timedelta(hours=12)


async def test_same_fingerprint_again_is_a_retry_another_is_a_replay() -> None:
    guard = MemoryReplayGuard()
    assert await guard.admit("tok", "a", LATER, T0)
    assert await guard.admit("tok", "a", LATER, T0 + timedelta(hours=1))
    assert not await guard.admit("tok", "b", LATER, T0 + timedelta(hours=1))


async def test_an_expired_token_is_forgotten() -> None:
    guard = MemoryReplayGuard()
    assert await guard.admit("tok", "a", T0 + timedelta(minutes=1), T0)
    assert await guard.admit("tok", "b", LATER, T0 + timedelta(minutes=2))
    assert not await guard.admit("tok", "a", LATER, T0 + timedelta(minutes=3))
    assert await guard.admit("other", "x", LATER + timedelta(hours=12), LATER + timedelta(seconds=1))
    assert len(guard) == 1


async def test_least_recently_used_tokens_go_first_when_full() -> None:
    guard = MemoryReplayGuard(max_tokens=2)
    for token in ("t1", "t2"):
        await guard.admit(token, "f", LATER, T0)
    await guard.admit("t1", "f", LATER, T0)
    await guard.admit("t3", "f", LATER, T0)
    assert len(guard) == 2
    assert await guard.admit("t2", "other", LATER, T0)  # t2 was evicted, so it is new again
    assert not await guard.admit("t3", "other", LATER, T0)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MemoryReplayGuard(max_tokens=0)
