"""The handlers on the in-memory store: matching, replays, refunds and spikes without a database."""

from datetime import UTC, datetime, timedelta

from refund_service.handlers import domains_to_check, handlers
from refund_service.models import RefundBounce, RefundEmployerSpike, RefundRecord
from refund_service.settings import RefundSettings
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed, MessageBounced, Topic
from seevee_shared.store import table_of
from seevee_shared.store.base import OUTBOX
from seevee_shared.testing.polls import events_of, in_memory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
EMPLOYER = "acme.example-test"
REGISTRY = handlers(RefundSettings(dns_check_enabled=False))


def revealed(contact: str, first: str = "John", last: str = "Smith") -> CloudEvent:
    data = ContactRevealed(
        reveal_id=f"r-{contact}",
        contact_id=contact,
        email=f"{first}.{last}.{contact}@{EMPLOYER}",
        first_name=first,
        last_name=last,
        employer_domain=EMPLOYER,
        credits=2,
        recommended=False,
        revealed_at=T0,
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id="ws-1", subject=contact)


def bounced(
    contact: str,
    bounce_id: str,
    category: str = "mailbox_unknown",
    reason: str = "userunknown",
    name: str = "john.smith",
) -> CloudEvent:
    data = MessageBounced.model_validate(
        {
            "bounce_id": bounce_id,
            "message_id": f"m-{bounce_id}",
            "thread_id": f"t-{bounce_id}",
            "contact_id": contact,
            "recipient": f"{name}.{contact}@{EMPLOYER}",
            "category": category,
            "reason": reason,
            "permanent": category == "mailbox_unknown",
            "provider": "sendgrid",
            "provider_event_id": f"p-{bounce_id}",
            "matched_by": "message_id",
            "bounced_at": T0 + timedelta(hours=1),
        }
    )
    return CloudEvent.build(data, source="/seevee/test", workspace_id="ws-1", subject=contact)


async def test_a_bounce_that_came_first_is_matched_when_its_reveal_comes_in_a_later_poll() -> None:
    rows = await in_memory(REGISTRY, [bounced("c-1", "b-1")], [revealed("c-1")])
    [bounce] = rows.rows(table_of(RefundBounce))
    assert (bounce["reveal_id"], bounce["employer_domain"]) == ("r-c-1", EMPLOYER)
    [record] = rows.rows(table_of(RefundRecord))
    assert (record["status"], record["basis"]) == ("eligible", "name_mismatch")  # "john.smith.c-1"
    assert [row["topic"] for row in rows.rows(OUTBOX)] == [Topic.REFUND_ELIGIBILITY_RECORDED]


async def test_the_same_bounce_under_another_event_id_changes_nothing() -> None:
    rows = await in_memory(REGISTRY, [revealed("c-1"), bounced("c-1", "b-1")], [bounced("c-1", "b-1")])
    assert len(rows.rows(table_of(RefundBounce))) == 1
    assert len(rows.rows(OUTBOX)) == 1


async def test_a_stronger_basis_moves_the_refund_and_a_weaker_one_does_not() -> None:
    rows = await in_memory(
        REGISTRY,
        [revealed("c-1", first="Jane", last="Doe")],
        [
            bounced("c-1", "b-1", "temporary", "mailboxfull", "jane.doe"),
            bounced("c-1", "b-2", name="jane.doe"),
        ],
        [bounced("c-1", "b-3", "spam_policy", "blocked", "jane.doe")],
    )
    [record] = rows.rows(table_of(RefundRecord))
    assert (record["status"], record["basis"], record["bounce_id"]) == ("eligible", "name_mismatch", "b-2")
    assert len(rows.rows(OUTBOX)) == 2


async def test_an_employer_spikes_once_per_period_across_polls() -> None:
    contacts = [f"c-{n}" for n in range(7)]
    rows = await in_memory(
        REGISTRY,
        [revealed(contact) for contact in contacts],
        [bounced(contact, f"b-{contact}") for contact in contacts[:5]],
        [bounced(contact, f"b-{contact}") for contact in contacts[5:]],
    )
    [spike] = rows.rows(table_of(RefundEmployerSpike))
    assert (spike["employer_domain"], spike["distinct_contacts"], spike["reveals"]) == (EMPLOYER, 5, 7)
    assert [row["topic"] for row in rows.rows(OUTBOX)].count(Topic.EMPLOYER_BOUNCE_SPIKE) == 1


def test_only_hard_bounces_a_dns_answer_can_decide_are_resolved_before_the_poll() -> None:
    poll = [
        bounced("c-1", "b-1"),
        bounced("c-2", "b-2", reason="hostunknown"),
        bounced("c-3", "b-3", "temporary", "mailboxfull"),
        revealed("c-4"),
    ]
    assert domains_to_check(events_of(REGISTRY, poll)) == {EMPLOYER}
