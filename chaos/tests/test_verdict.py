"""The verdict: a complete, quiet system passes; a lost, doubled or dead-lettered effect fails it; a
re-published event id is counted against the fault before it and is not a failure."""

import random
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from chaos.census import Observed, Published
from chaos.faults import FaultRecord
from chaos.plan import Person, cast
from chaos.verdict import judge
from sandbox.sends import Send

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
HOOKS = {"deliveries": 2, "finally_2xx": 2}


def a_send(person: Person, n: int) -> Send:
    return Send(
        workspace_id="ws-chaos",
        message_id=f"m-{n}",
        thread_id=f"t-{n}",
        contact_id=person.contact.contact_id,
        run_id=f"r-{n}",
        run_step=1,
        recipient=person.contact.email,
        sender_mailbox="sam@seevee-chaos.example",
        provider="ses",
        provider_message_id=f"p-{n}",
        smtp_message_id=f"<m-{n}@seevee-chaos.example>",
        subject="Quick introduction",
        sent_at=NOW,
    )


def event(topic: str, event_id: str, source: str, at: int = 0, **data: Any) -> Published:
    return Published(topic, event_id, f"/seevee/{source}", at, data)


def complete(people: list[Person], sends: dict[str, Send]) -> Observed:
    observed = Observed()
    for n, person in enumerate(people):
        c, send = person.contact, sends[person.contact.contact_id]
        observed.published += [
            event(
                "message.bounced",
                f"b-{n}",
                "bounce-ingest",
                contact_id=c.contact_id,
                message_id=send.message_id,
            ),
            event("run.paused", f"p-{n}", "run-orchestrator", run_id=send.run_id, step=1),
            event("task.created", f"t-{n}", "task-service", contact_id=c.contact_id),
            event(
                "thread.message_labeled",
                f"l-{n}",
                "thread-service",
                message_id=send.message_id,
                label="bounced",
            ),
            event("refund.eligibility_recorded", f"e-{n}", "refund-service", reveal_id=c.reveal_id),
        ]
        observed.api.setdefault("bounces", []).append({"contact_id": c.contact_id})
        pause = {"bounce_id": f"b-{n}"}
        run = {"contact_id": c.contact_id, "run_id": send.run_id, "status": "paused", "pause": pause}
        observed.api.setdefault("runs", []).append({**run, "bounce_count": 1})
        task = {"contact_id": c.contact_id, "status": "open", "category": person.category, "bounces": [{}]}
        observed.api.setdefault("tasks", []).append(task)
        message = {"labels": ["bounced"], "bounce": {"category": person.category}}
        observed.api.setdefault("threads", []).append({"contact_id": c.contact_id, "messages": [message]})
        observed.api.setdefault("refunds", []).append({"reveal_id": c.reveal_id})
    observed.unpublished_outbox = {"bounce-ingest": 0}
    return observed


def setting() -> tuple[list[Person], dict[str, Send]]:
    people = cast(2, random.Random(5))
    return people, {p.contact.contact_id: a_send(p, n) for n, p in enumerate(people)}


def test_a_complete_quiet_system_passes() -> None:
    people, sends = setting()
    verdict = judge(people, sends, set(), complete(people, sends), [], HOOKS, settled=True)
    assert verdict.passed, verdict.failures


def test_a_missing_refund_record_is_lost() -> None:
    people, sends = setting()
    observed = complete(people, sends)
    observed.api["refunds"].pop()
    verdict = judge(people, sends, set(), observed, [], HOOKS, settled=True)
    assert not verdict.passed
    row = next(r for r in verdict.rows if r.check.startswith("one refund record"))
    assert (row.lost, row.found) == (1, 1)


def test_a_task_announced_under_two_event_ids_is_doubled() -> None:
    people, sends = setting()
    observed = complete(people, sends)
    first = next(e for e in observed.published if e.topic == "task.created")
    observed.published.append(replace(first, event_id="t-again"))
    verdict = judge(people, sends, set(), observed, [], HOOKS, settled=True)
    assert verdict.doubled_keys["task.created"] == 1
    assert not verdict.passed


def test_the_same_event_id_twice_is_a_re_publish_put_down_to_the_fault_before_it() -> None:
    people, sends = setting()
    observed = complete(people, sends)
    first = next(e for e in observed.published if e.topic == "run.paused")
    observed.published.append(replace(first, timestamp_ms=2_000))
    kill = FaultRecord(1, "kill -9", "run-orchestrator", at_ms=1_000, in_flight=0, back_after_s=1.0)
    other = FaultRecord(2, "kill -9", "task-service", at_ms=1_500, in_flight=0, back_after_s=1.0)
    verdict = judge(people, sends, set(), observed, [kill, other], HOOKS, settled=True)
    assert verdict.passed, verdict.failures
    assert verdict.repeats_total == 1
    assert verdict.repeats_by_fault == {"#1 run-orchestrator": 1}


def test_dead_letters_an_unanswered_webhook_or_no_quiet_each_fail() -> None:
    people, sends = setting()
    dead = complete(people, sends)
    dead.dead_letters = {"dlq.task-service": 1}
    assert not judge(people, sends, set(), dead, [], HOOKS, settled=True).passed
    moved_aside = complete(people, sends)
    moved_aside.outbox_dead_letters = {"task-service": 1}
    assert not judge(people, sends, set(), moved_aside, [], HOOKS, settled=True).passed
    unanswered = {"deliveries": 2, "finally_2xx": 1}
    assert not judge(people, sends, set(), complete(people, sends), [], unanswered, settled=True).passed
    assert not judge(people, sends, set(), complete(people, sends), [], HOOKS, settled=False).passed


def test_an_expected_spike_that_never_came_is_lost_and_an_unexpected_one_is_wrong() -> None:
    people, sends = setting()
    observed = complete(people, sends)
    observed.published.append(
        event("employer.bounce_spike", "s-1", "refund-service", employer_domain="other")
    )
    verdict = judge(people, sends, {"expected.example"}, observed, [], HOOKS, settled=True)
    row = next(r for r in verdict.rows if r.check.startswith("employer.bounce_spike"))
    assert (row.lost, row.wrong) == (1, 1)
