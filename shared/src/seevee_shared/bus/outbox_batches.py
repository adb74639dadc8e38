"""How the relay hands rows to the producer: one record batch per partition, shipped when full.

The producer's per-record ``send`` costs more than reading and marking the row together, and a relay
that shipped each read batch at once would send small requests; filling aiokafka's ``BatchBuilder``
per partition and shipping it when full (or when nothing more is pending) does what ``send`` does
for a stream of records at a fraction of the cost. Keys go to partitions as the producer's default
partitioner puts them (murmur2, as Java clients do), and each partition's batches ship in order.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from seevee_shared.cloudevents import CONTENT_TYPE

MAX_REQUEST_SIZE = 1024 * 1024
"""The producer's ``max_request_size`` (aiokafka's default): a larger record can never be sent."""

HEADERS = [("content-type", CONTENT_TYPE.encode())]

Row = tuple[int, str, str, str, bytes]
"""An outbox row as the relay reads it: seq, event_id, topic, key, payload."""


@dataclass
class Batch:
    """Rows of one read in ``seq`` order, each with the future its ack resolves (None where the
    relay refused the row before the producer saw it, with the reason in ``refused``)."""

    rows: list[Row]
    acks: "list[asyncio.Future[Any] | None]" = field(default_factory=list)
    refused: dict[int, BaseException] = field(default_factory=dict)
    alone: set[int] = field(default_factory=set)
    """Rows shipped with nothing else in their request, so an error they get is their own."""

    def error(self, index: int) -> BaseException | None:
        ack = self.acks[index]
        if ack is None:
            return self.refused[index]
        if ack.cancelled():
            cancelled: BaseException = KafkaConnectionError("the send was cancelled")
            return cancelled
        return ack.exception()


def check_size(key: bytes, payload: bytes) -> None:
    """The producer's own check, made before the record joins a batch that the broker would refuse."""
    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, payload, HEADERS)
    if size > MAX_REQUEST_SIZE:
        raise MessageSizeTooLargeError(
            f"the record is {size} bytes serialized, more than the producer's "
            f"max_request_size of {MAX_REQUEST_SIZE} bytes"
        )


def partition_for(key: bytes, partitions: list[int]) -> int:
    """The partition the producer's default partitioner gives a key (murmur2, as Java clients do)."""
    hashed: int = murmur2(key)
    return partitions[(hashed & 0x7FFFFFFF) % len(partitions)]


@dataclass
class _Open:
    builder: BatchBuilder
    ack: "asyncio.Future[Any]"
    """Resolved with the batch's outcome once shipped; the rows in it wait on this."""


def _settle_with(placeholder: "asyncio.Future[Any]", shipped: "asyncio.Future[Any]") -> None:
    if placeholder.done():
        return
    if shipped.cancelled():
        placeholder.cancel()
    elif (error := shipped.exception()) is not None:
        placeholder.set_exception(error)
    else:
        placeholder.set_result(shipped.result())


class RecordBatches:
    """The open record batch of each partition during one relay turn."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self.producer = producer
        self._open: dict[tuple[str, int], _Open] = {}
        self._partitions: dict[str, list[int]] = {}

    async def add(self, batch: Batch, rows: list[Row], isolate: set[str]) -> None:
        """Put each row in its partition's batch (shipping full ones); an isolated row ships alone."""
        loop = asyncio.get_running_loop()
        for index, (_, event_id, topic, key, payload) in enumerate(rows):
            key_bytes = key.encode()
            try:
                partitions = self._partitions.get(topic) or await self._load_partitions(topic)
                partition = partition_for(key_bytes, partitions)
                check_size(key_bytes, payload)
            except Exception as exc:
                batch.acks.append(None)
                batch.refused[index] = exc
                batch.alone.add(index)
                continue
            alone = event_id in isolate
            if alone:
                await self.ship_all()
                await self.producer.flush()
            place = (topic, partition)
            current = self._open.get(place)
            if current is None:
                current = self._open[place] = _Open(self.producer.create_batch(), loop.create_future())
            if current.builder.append(timestamp=None, key=key_bytes, value=payload, headers=HEADERS) is None:
                await self._ship(place)
                current = self._open[place] = _Open(self.producer.create_batch(), loop.create_future())
                current.builder.append(timestamp=None, key=key_bytes, value=payload, headers=HEADERS)
            batch.acks.append(current.ack)
            if alone:
                batch.alone.add(index)
                await self._ship(place)
                await asyncio.wait([current.ack])

    async def ship_all(self) -> None:
        for place in list(self._open):
            await self._ship(place)

    async def _ship(self, place: tuple[str, int]) -> None:
        current = self._open.pop(place)
        try:
            shipped = await self.producer.send_batch(current.builder, place[0], partition=place[1])
        except Exception as exc:
            if not current.ack.done():
                current.ack.set_exception(exc)
            return
        shipped.add_done_callback(lambda done: _settle_with(current.ack, done))

    async def _load_partitions(self, topic: str) -> list[int]:
        partitions = self._partitions[topic] = sorted(await self.producer.partitions_for(topic))
        return partitions
