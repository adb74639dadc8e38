"""What the pipeline did with the demo's contacts, read back from the APIs, and the words to print it in.

Pure: ``Outcome`` holds the API answers for one contact; ``settled`` says whether everything the
scenario should cause is visible yet; ``render`` turns the lot into the summary a person reads.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.contacts import DemoContact
from sandbox.sends import Send
from sandbox.webhooks import Delivery

Resource = dict[str, Any]


@dataclass
class Outcome:
    contact: DemoContact
    run_id: str
    send: Send | None = None
    run: Resource | None = None
    tasks: list[Resource] = field(default_factory=list)
    threads: list[Resource] = field(default_factory=list)
    refunds: list[Resource] = field(default_factory=list)

    @property
    def bounced(self) -> bool:
        return self.contact.scenario.bounce is not None

    @property
    def paused(self) -> bool:
        return self.run is not None and self.run["status"] == "paused"

    @property
    def labelled(self) -> bool:
        return any(
            "bounced" in message["labels"] for thread in self.threads for message in thread["messages"]
        )

    @property
    def refund_as_expected(self) -> bool:
        scenario = self.contact.scenario
        return any(
            r["status"] == scenario.refund_status and r["basis"] == scenario.refund_basis
            for r in self.refunds
        )

    def settled(self) -> bool:
        """Everything the scenario should cause is visible (a delivered contact: its step 1 is sent)."""
        if not self.bounced:
            return self.run is not None and self.run["steps"][0]["status"] == "sent"
        return self.paused and bool(self.tasks) and self.labelled and bool(self.refunds)


def _short(text: str | None, width: int) -> str:
    text = text or "-"
    return text if len(text) <= width else text[: width - 1] + "…"


def _name(contact: DemoContact) -> str:
    return f"{contact.first_name} {contact.last_name}"


def _labelled(message: Resource) -> str:
    reason = (message["bounce"] or {}).get("reason")
    return f"{message['subject']!r}: {'+'.join(message['labels'])} ({reason})"


def render(outcomes: list[Outcome], deliveries: list[Delivery]) -> list[str]:
    bounced = [o for o in outcomes if o.bounced]
    lines = ["", "Bounces posted:"]
    for delivery in deliveries:
        answer = ", ".join(f"{key} {value}" for key, value in delivery.answer.items())
        lines.append(
            f"  {delivery.provider:<9} {len(delivery.recipients)} bounce(s) -> ingest answered {answer}"
        )
    lines += ["", "Runs paused:"]
    for o in bounced:
        pause = (o.run or {}).get("pause") or {}
        if o.paused:
            lines.append(
                f"  {o.contact.email:<44} step {pause.get('step')}  {pause.get('cause')}: "
                f"{pause.get('category')} / {pause.get('reason')}"
            )
        else:
            lines.append(f"  {o.contact.email:<44} NOT PAUSED (status {(o.run or {}).get('status', '?')})")
    lines += ["", "Tasks opened:"]
    for o in bounced:
        for task in o.tasks:
            lines.append(
                f"  {_name(o.contact):<22} {task['title']}  [{task['status']}, due {task['due_at'][:16]}]"
            )
            lines.append(f"  {'':<22} next step: {task['recommended_action']}")
        if not o.tasks:
            lines.append(f"  {_name(o.contact):<22} NO TASK")
    lines += ["", "Threads labelled:"]
    for o in bounced:
        marks = [
            _labelled(message) for thread in o.threads for message in thread["messages"] if message["labels"]
        ]
        lines.append(f"  {o.contact.email:<44} {', '.join(marks) or 'NOT LABELLED'}")
    lines += ["", "Refund records:"]
    for o in bounced:
        for refund in o.refunds:
            expected = "" if o.refund_as_expected else f"  (expected {o.contact.scenario.refund_status})"
            lines.append(
                f"  {refund['email']:<44} {refund['status']:<12} {refund['basis']:<15}{expected} "
                f"{_short(refund['explanation'], 90)}"
            )
        if not o.refunds:
            lines.append(f"  {o.contact.email:<44} NO REFUND RECORD")
    lines += ["", *counts(outcomes)]
    return lines


def counts(outcomes: list[Outcome]) -> list[str]:
    bounced = [o for o in outcomes if o.bounced]
    sends = Counter(o.send.provider for o in outcomes if o.send)
    categories = Counter(o.contact.scenario.category for o in bounced)
    n = len(bounced)
    return [
        f"Contacts revealed {len(outcomes)}; step 1 sent {sum(sends.values())} "
        f"({', '.join(f'{p} {c}' for p, c in sorted(sends.items()))}); bounced {n} "
        f"({', '.join(f'{c} {k}' for c, k in sorted(categories.items(), key=lambda item: str(item[0])))})",
        f"Runs paused {sum(o.paused for o in bounced)}/{n}, tasks {sum(bool(o.tasks) for o in bounced)}/{n}, "
        f"threads labelled {sum(o.labelled for o in bounced)}/{n}, "
        f"refund records {sum(bool(o.refunds) for o in bounced)}/{n} "
        f"({sum(o.refund_as_expected for o in bounced)} as expected); "
        f"delivered: step 1 sent {sum(o.settled() for o in outcomes if not o.bounced)}/{len(outcomes) - n}",
    ]
