"""The base poll suite over the refund-service: a poll at once, one by one, redelivered, on the careful
path and in memory leaves the same rows.

A bounce must find the reveal and refund record an earlier event of the same poll wrote, a bounce that
came before its reveal must wait for it, and a bounce brought again under another event id changes
nothing; the employer spike counts the poll's hard bounces as if they had come one at a time.
"""

from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from sqlalchemy import Table

from refund_service.app import MIGRATIONS_DIR
from refund_service.handlers import handlers
from refund_service.models import RefundBounce, RefundEmployerSpike, RefundRecord, RefundReveal
from refund_service.settings import RefundSettings
from refund_service.store import RefundStore
from seevee_shared.bus import Handlers
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed, MessageBounced
from seevee_shared.store import table_of
from seevee_shared.testing.polls import PollSuite, State

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EMPLOYER = "alive.example-test"
DAY = timedelta(days=1)


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


class TestPolls(PollSuite):
    """A poll mixing retried, out-of-order and unmatched bounces with reveals (DNS off: the address
    domain's answer would change no basis here)."""

    group = "refund-service"
    migrations = MIGRATIONS_DIR
    tables: ClassVar[Mapping[Table, Collection[str]]] = {
        table_of(RefundReveal): ("id",),
        table_of(RefundBounce): ("id",),
        table_of(RefundRecord): ("created_at", "updated_at"),
        table_of(RefundEmployerSpike): ("id", "detected_at"),
    }

    def handlers(self) -> Handlers[RefundStore]:
        return handlers(RefundSettings(dns_check_enabled=False))

    def before(self) -> list[CloudEvent]:
        return [
            *(revealed(f"c-{n}", f"r-{n}") for n in range(1, 5)),
            revealed("c-9", "r-9-first"),
            revealed("c-9", "r-9-second", T0 + 2 * DAY),
            revealed("c-7", "r-7", T0 + 5 * DAY),
        ]

    def poll(self) -> list[CloudEvent]:
        return [
            bounced("b-1", "c-1", "temporary", T0 + DAY),
            bounced("b-2", "c-1", "mailbox_unknown", T0 + DAY + timedelta(hours=1)),
            bounced("b-3", "c-5", "mailbox_unknown", T0 + DAY),
            revealed("c-5", "r-5"),
            bounced("b-4", "c-5", "mailbox_unknown", T0 + DAY + timedelta(hours=2)),
            revealed("c-6", "r-6"),
            bounced("b-5", "c-6", "mailbox_unknown", T0 + DAY),
            bounced("b-2", "c-1", "mailbox_unknown", T0 + DAY + timedelta(hours=1), event_id="b-2-again"),
            bounced("b-6", "c-9", "temporary", T0 + DAY),
            bounced("b-7", "c-9", "mailbox_unknown", T0 + 3 * DAY),
            *(bounced(f"b-{n}0", f"c-{n}", "mailbox_unknown", T0 + DAY) for n in range(2, 5)),
            bounced("b-8", "c-7", "mailbox_unknown", T0 + DAY),
            bounced("b-9", "c-8", "temporary", T0 + DAY),
        ]

    def check(self, state: State) -> None:
        # refund_bounce rows: (workspace_id, bounce_id, contact_id, recipient_key, category, reason,
        # bounced_at, reveal_id, employer_domain)
        bounces = {row[1]: row[7] for row in state["refund_bounce"]}
        assert len(bounces) == 12
        assert bounces["b-3"] == "r-5"  # waited for its reveal, which came later in the poll
        assert bounces["b-6"] == "r-9-first"
        assert bounces["b-7"] == "r-9-second"
        assert bounces["b-8"] == "r-7"  # no reveal before it: the earliest after it
        assert bounces["b-9"] is None
        assert len(state["refund_record"]) == 9
        assert len(state["refund_employer_spike"]) == 2
