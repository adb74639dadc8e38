"""When the demo counts a contact's story as told, and how the summary reads."""

from datetime import UTC, datetime
from typing import Any

import pytest

from sandbox.contacts import BOUNCE_SCENARIOS, DELIVERED, DemoContact, Scenario
from sandbox.summary import Outcome, render
from sandbox.webhooks import Delivery

MAILBOX_UNKNOWN_FITS = BOUNCE_SCENARIOS[0]


def contact(scenario: Scenario) -> DemoContact:
    return DemoContact(
        contact_id="contact-1",
        reveal_id="reveal-1",
        first_name="Lena",
        last_name="Fischer",
        employer_name="Kestrel Logistics",
        employer_domain="kestrel-logistics.example",
        email="lena.fischer@kestrel-logistics.example",
        scenario=scenario,
    )


def run(status: str, step_status: str = "sent") -> dict[str, Any]:
    pause = {"step": 1, "cause": "bounce", "category": "mailbox_unknown", "reason": "userunknown"}
    return {
        "status": status,
        "steps": [{"status": step_status}],
        "pause": pause if status == "paused" else None,
    }


TASK = {
    "title": "Mailbox unknown: find a current address for this contact",
    "status": "open",
    "due_at": datetime(2026, 11, 26, tzinfo=UTC).isoformat(),
    "recommended_action": "The person probably left the company.",
}
LABELLED = {
    "messages": [
        {"subject": "Quick introduction", "labels": ["bounced"], "bounce": {"reason": "userunknown"}}
    ]
}
UNLABELLED: dict[str, Any] = {"messages": [{"subject": "Quick introduction", "labels": [], "bounce": None}]}
REFUND = {
    "email": "lena.fischer@kestrel-logistics.example",
    "status": "needs_review",
    "basis": "mailbox_unknown",
    "explanation": "The address does not exist (userunknown) but fits the contact's name.",
}


def bounced(status: str = "paused", task: bool = True, label: bool = True, refund: bool = True) -> Outcome:
    return Outcome(
        contact(MAILBOX_UNKNOWN_FITS),
        "run-1",
        run=run(status),
        tasks=[TASK] if task else [],
        threads=[LABELLED if label else UNLABELLED],
        refunds=[REFUND] if refund else [],
    )


@pytest.mark.parametrize(
    ("outcome", "settled"),
    [
        (Outcome(contact(DELIVERED), "run-1", run=run("active")), True),
        (Outcome(contact(DELIVERED), "run-1", run=run("active", "due")), False),
        (bounced(), True),
        (bounced(status="active"), False),
        (bounced(task=False), False),
        (bounced(label=False), False),
        (bounced(refund=False), False),
        (Outcome(contact(MAILBOX_UNKNOWN_FITS), "run-1"), False),
    ],
)
def test_when_a_contacts_story_is_told(outcome: Outcome, settled: bool) -> None:
    assert outcome.settled() is settled


def test_a_refund_other_than_the_scenario_expects_is_pointed_out() -> None:
    told = Outcome(
        contact(MAILBOX_UNKNOWN_FITS), "run-1", run=run("paused"), tasks=[TASK], threads=[LABELLED]
    )
    told.refunds = [REFUND]
    wrong = Outcome(
        contact(MAILBOX_UNKNOWN_FITS), "run-2", run=run("paused"), tasks=[TASK], threads=[LABELLED]
    )
    wrong.refunds = [{**REFUND, "status": "eligible", "basis": "name_mismatch"}]

    assert told.refund_as_expected and not wrong.refund_as_expected
    text = "\n".join(render([told], []))
    assert "(expected" not in text
    assert "(expected needs_review)" in "\n".join(render([wrong], []))


def test_the_summary_names_every_effect_and_counts_them() -> None:
    told = Outcome(
        contact(MAILBOX_UNKNOWN_FITS), "run-1", run=run("paused"), tasks=[TASK], threads=[LABELLED]
    )
    told.refunds = [REFUND]
    silent = Outcome(contact(BOUNCE_SCENARIOS[3]), "run-2", run=run("active"))
    delivery = Delivery("sendgrid", ["lena.fischer@kestrel-logistics.example"], {"accepted": 1, "ignored": 2})

    text = "\n".join(render([told, silent], [delivery]))

    assert "sendgrid  1 bounce(s) -> ingest answered accepted 1, ignored 2" in text
    assert "step 1  bounce: mailbox_unknown / userunknown" in text
    assert "next step: The person probably left the company." in text
    assert "'Quick introduction': bounced (userunknown)" in text
    assert "needs_review" in text
    for missing in ("NOT PAUSED", "NO TASK", "NOT LABELLED", "NO REFUND RECORD"):
        assert missing in text
    assert "Runs paused 1/2, tasks 1/2, threads labelled 1/2, refund records 1/2 (1 as expected)" in text
