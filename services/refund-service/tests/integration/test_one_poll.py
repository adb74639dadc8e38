"""A poll applied in one go (its rows prefetched) leaves the store as applying its events one by one.

A bounce must find the reveal and refund record an earlier event of the same poll wrote, a bounce that
came before its reveal must wait for it, and a bounce brought again under another event id changes
nothing; the employer spike counts the poll's hard bounces as if they had come one at a time.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from refund_service.app import MIGRATIONS_DIR
from refund_service.consumers import handlers
from refund_service.models import RefundBounce, RefundEmployerSpike, RefundRecord, RefundReveal
from refund_service.settings import RefundSettings
from seevee_shared.bus.consumer import EventConsumer
from seevee_shared.bus.tables import OutboxRecord
from seevee_shared.cloudevents import CloudEvent, decode
from seevee_shared.db import Database
from seevee_shared.events import ContactRevealed, MessageBounced
from seevee_shared.testing import polled

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EMPLOYER = "alive.example-test"


def revealed(contact_id: str, reveal_id: str, at: datetime = T0) -> CloudEvent:
    data = ContactRevealed(
        reveal_id=reveal_id,
        contact_id=contact_id,
        email=f"John.Smith.{contact_id}@{EMPLOYER}",
        first_name="John",
        last_name="Smith",
        employer_domain=EMPLOYER,
        credits=3,
        recommended=False,
        revealed_at=at,
    )
    return CloudEvent.build(
        data, source="/seevee/test", workspace_id="ws-1", subject=contact_id, event_id=f"ev-{reveal_id}"
    )


def bounced(
    bounce_id: str, contact_id: str, category: str, at: datetime, event_id: str | None = None
) -> CloudEvent:
    data = MessageBounced(
        bounce_id=bounce_id,
        message_id=f"m-{bounce_id}",
        thread_id=f"t-{bounce_id}",
        contact_id=contact_id,
        recipient=f"john.smith.{contact_id}@{EMPLOYER}",
        category=category,
        reason="userunknown" if category == "mailbox_unknown" else "mailboxfull",
        permanent=category == "mailbox_unknown",
        provider="postmark",
        provider_event_id=f"p-{bounce_id}",
        matched_by="message_id",
        bounced_at=at,
    )
    return CloudEvent.build(
        data,
        source="/seevee/test",
        workspace_id="ws-1",
        subject=contact_id,
        event_id=event_id or f"ev-{bounce_id}",
    )


async def state(db: Database) -> dict[str, list[Any]]:
    """Everything the handlers write, without the moments of writing."""
    async with db.transaction() as session:
        reveals = sorted(r.reveal_id for r in await session.exec(select(RefundReveal)))
        bounces = sorted(
            (b.bounce_id, b.reveal_id, b.employer_domain, b.category)
            for b in await session.exec(select(RefundBounce))
        )
        records = sorted(
            (r.refund_id, r.reveal_id, r.bounce_id, r.status, r.basis, r.explanation)
            for r in await session.exec(select(RefundRecord))
        )
        spikes = sorted(
            (s.employer_domain, s.period_start, s.hard_bounces, s.distinct_contacts, s.reveals)
            for s in await session.exec(select(RefundEmployerSpike))
        )
        outbox = []
        for row in await session.exec(select(OutboxRecord)):
            data = dict(decode(row.payload).data)
            data.pop("detected_at", None)
            outbox.append((row.topic, sorted(data.items())))
    return {
        "reveals": reveals,
        "bounces": bounces,
        "records": records,
        "spikes": spikes,
        "outbox": sorted(outbox),
    }


async def run(
    path: Path,
    nameserver: str,
    before: list[CloudEvent],
    polls: list[list[CloudEvent]],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, list[Any]]:
    """Apply the polls; none may need the careful path, or the prefetch would go untested."""
    url = f"sqlite+aiosqlite:///{path}"
    settings = RefundSettings(database_url=url, dns_nameserver=nameserver, dns_timeout_seconds=0.3)
    db = Database(url)
    await db.upgrade(MIGRATIONS_DIR)
    consumer = EventConsumer(group="refund-service", db=db, handlers=handlers(settings))

    async def careful_path(*_: Any) -> bool:
        raise AssertionError("the poll failed on its straight path")

    monkeypatch.setattr(consumer, "_apply_event", careful_path)
    try:
        await consumer.apply(polled(before))
        for poll in polls:
            await consumer.apply(polled(poll))
        return await state(db)
    finally:
        await db.dispose()


async def test_one_poll_leaves_what_one_event_at_a_time_leaves(
    tmp_path: Path, dns_server: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    nameserver, _ = dns_server
    day = timedelta(days=1)
    before = [
        *(revealed(f"c-{n}", f"r-{n}") for n in range(1, 5)),
        revealed("c-9", "r-9-first"),
        revealed("c-9", "r-9-second", T0 + 2 * day),
        revealed("c-7", "r-7", T0 + 5 * day),
    ]
    poll = [
        bounced("b-1", "c-1", "temporary", T0 + day),
        bounced("b-2", "c-1", "mailbox_unknown", T0 + day + timedelta(hours=1)),
        bounced("b-3", "c-5", "mailbox_unknown", T0 + day),
        revealed("c-5", "r-5"),
        bounced("b-4", "c-5", "mailbox_unknown", T0 + day + timedelta(hours=2)),
        revealed("c-6", "r-6"),
        bounced("b-5", "c-6", "mailbox_unknown", T0 + day),
        bounced("b-2", "c-1", "mailbox_unknown", T0 + day + timedelta(hours=1), event_id="b-2-again"),
        bounced("b-6", "c-9", "temporary", T0 + day),
        bounced("b-7", "c-9", "mailbox_unknown", T0 + 3 * day),
        *(bounced(f"b-{n}0", f"c-{n}", "mailbox_unknown", T0 + day) for n in range(2, 5)),
        bounced("b-8", "c-7", "mailbox_unknown", T0 + day),
        bounced("b-9", "c-8", "temporary", T0 + day),
    ]
    together = await run(tmp_path / "together.db", nameserver, before, [poll], monkeypatch)
    one_by_one = await run(
        tmp_path / "one-by-one.db", nameserver, before, [[event] for event in poll], monkeypatch
    )
    assert together == one_by_one
    bounces = {bounce_id: reveal_id for bounce_id, reveal_id, _, _ in together["bounces"]}
    assert len(bounces) == 12
    assert bounces["b-3"] == "r-5"  # waited for its reveal, which came later in the poll
    assert bounces["b-6"] == "r-9-first"
    assert bounces["b-7"] == "r-9-second"
    assert bounces["b-8"] == "r-7"  # no reveal before it: the earliest after it
    assert bounces["b-9"] is None
    assert len(together["records"]) == 9
    assert len(together["spikes"]) == 2
