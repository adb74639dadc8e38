"""Plays the sender: every ``run.step_due`` becomes an email "sent" and its ``message.sent``.

Its own consumer group (``sandbox-sender``), committed only after the ``message.sent`` is acknowledged,
so a step is never lost; a crash between the two may send a step twice, as a real sender might.
"""

import random
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from sandbox.sends import Send, message_sent_event, send_for
from seevee_shared.cloudevents import CONTENT_TYPE, InvalidEvent, decode, encode
from seevee_shared.events import Topic

SENDER_GROUP = "sandbox-sender"


class Sender:
    """Start it, then ``run()`` it as a task; ``on_send`` hears about each send once it is published."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        group_id: str = SENDER_GROUP,
        on_send: Callable[[Send], None] = lambda _send: None,
        rng: random.Random | None = None,
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            Topic.RUN_STEP_DUE,
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True
        )
        self._on_send = on_send
        self._rng = rng or random.Random()
        self.skipped = 0
        """Records on ``run.step_due`` that were not valid step events (left for the operator's eyes)."""

    async def start(self) -> None:
        await self._producer.start()
        try:
            await self._consumer.start()
        except BaseException:
            await self._producer.stop()
            raise

    async def stop(self) -> None:
        try:
            await self._consumer.stop()
        finally:
            await self._producer.stop()

    async def run(self) -> None:
        """Send until cancelled."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    await self._send(record.value)
            if batches:
                await self._consumer.commit()

    async def _send(self, value: bytes | None) -> None:
        try:
            send = send_for(decode(value), datetime.now(UTC), self._rng)
        except InvalidEvent:
            self.skipped += 1
            return
        event = message_sent_event(send)
        headers = [("content-type", CONTENT_TYPE.encode())]
        await self._producer.send_and_wait(Topic.MESSAGE_SENT, encode(event), key=event.key, headers=headers)
        self._on_send(send)
