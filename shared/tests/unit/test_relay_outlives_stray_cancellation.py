"""The relay's loop outlives a cancellation nobody asked for (aiokafka's consumer stop can end in one),
and still stops when the service cancels it."""

import asyncio
from pathlib import Path

import pytest

from seevee_shared.bus import OutboxRelay
from seevee_shared.db import Database


class _CancelledOnce(OutboxRelay):
    def __init__(self, db: Database) -> None:
        super().__init__(db, None, poll_seconds=0.01)
        self.turns = 0
        self.went_on = asyncio.Event()

    async def publish_pending(self) -> int:
        self.turns += 1
        if self.turns == 1:
            raise asyncio.CancelledError  # from inside a client, not from the task's owner
        self.went_on.set()
        return 0


async def test_a_stray_cancellation_costs_one_turn_and_a_real_one_stops_the_relay(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'relay.db'}")
    relay = _CancelledOnce(db)
    running = asyncio.create_task(relay.run())
    try:
        await asyncio.wait_for(relay.went_on.wait(), timeout=30)  # a hang guard, not a speed check
        assert not running.done()
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        relay.close()
        await db.dispose()
    assert relay.turns >= 2
