"""From what the run planned and what the system holds afterwards to the table and a pass or a fail.

Pure. An effect is lost when a contact lacks it, doubled when it happened more than once, wrong when it
happened with the wrong content (another bounce, another category). A business key that went out on a
topic under two event ids is a doubled effect; the same event id seen twice is a re-publish, counted
per fault (the relay publishes at least once) but not a failure.
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from chaos.census import DEAD_LETTER_TOPICS, Observed, Published
from chaos.faults import FaultRecord
from chaos.plan import Person
from sandbox.sends import Send
from seevee_shared.events import Topic

BUSINESS_KEYS: dict[str, tuple[str, ...]] = {
    Topic.MESSAGE_BOUNCED: ("message_id",),
    Topic.MESSAGE_COMPLAINED: ("message_id",),
    Topic.BOUNCE_UNMATCHED: ("provider", "provider_event_id", "recipient"),
    Topic.RUN_STEP_DUE: ("run_id", "step"),
    Topic.RUN_PAUSED: ("run_id", "step"),
    Topic.RUN_RESUMED: ("run_id", "step"),
    Topic.RUN_STOPPED: ("run_id",),
    Topic.TASK_CREATED: ("contact_id",),
    Topic.THREAD_MESSAGE_LABELED: ("message_id", "label"),
    Topic.REFUND_ELIGIBILITY_RECORDED: ("reveal_id",),
    Topic.REFUND_DECIDED: ("refund_id", "status"),
    Topic.EMPLOYER_BOUNCE_SPIKE: ("employer_domain",),
}
"""What must happen at most once per topic in this run: every contact bounces once, on step 1."""
NEVER_EXPECTED = (Topic.BOUNCE_UNMATCHED, Topic.MESSAGE_COMPLAINED, Topic.RUN_RESUMED, Topic.RUN_STOPPED)


@dataclass
class Row:
    check: str
    expected: int
    found: int
    lost: int = 0
    doubled: int = 0
    wrong: int = 0

    @property
    def ok(self) -> bool:
        return self.found == self.expected and not (self.lost or self.doubled or self.wrong)


@dataclass
class Verdict:
    rows: list[Row]
    doubled_keys: dict[str, int]
    repeats_total: int
    repeats_by_fault: dict[str, int]
    dead_letters: dict[str, int]
    webhooks: dict[str, Any]
    unpublished_outbox: dict[str, int]
    settled: bool
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        rows = [{**asdict(row), "ok": row.ok} for row in self.rows]
        return {**asdict(self), "rows": rows, "passed": self.passed}


def _per_contact_row(check: str, expected: Sequence[str], counts: Counter[str], wrong: int = 0) -> Row:
    lost = sum(1 for key in expected if counts[key] == 0)
    doubled = sum(1 for key in expected if counts[key] > 1)
    found = sum(1 for key in expected if counts[key] >= 1)
    return Row(check, len(expected), found, lost, doubled, wrong)


def _distinct_ids_by_key(published: Sequence[Published], topic: str) -> dict[tuple[Any, ...], set[str]]:
    keys = BUSINESS_KEYS[topic]
    found: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for event in published:
        if event.topic == topic:
            found[tuple(event.data.get(k) for k in keys)].add(event.event_id)
    return found


def doubled_business_keys(published: Sequence[Published]) -> dict[str, int]:
    """Per topic, business keys that went out under more than one event id."""
    return {
        topic: sum(len(ids) > 1 for ids in _distinct_ids_by_key(published, topic).values())
        for topic in BUSINESS_KEYS
    }


def repeats_by_fault(
    published: Sequence[Published], faults: Sequence[FaultRecord]
) -> tuple[int, dict[str, int]]:
    """Extra copies of an event id, each put down to the last earlier fault of its producer or the broker."""
    copies: dict[str, list[Published]] = defaultdict(list)
    for event in published:
        copies[event.event_id].append(event)
    per_fault: Counter[str] = Counter()
    total = 0
    for events in copies.values():
        if len(events) < 2:
            continue
        events.sort(key=lambda e: e.timestamp_ms)
        for extra in events[1:]:
            total += 1
            cause = [
                f for f in faults if f.at_ms <= extra.timestamp_ms and f.target in (extra.service, "kafka")
            ]
            per_fault[f"#{cause[-1].number} {cause[-1].target}" if cause else "before any fault"] += 1
    return total, dict(per_fault)


def _topic_row(
    check: str, published: Sequence[Published], topic: str, expected: Sequence[tuple[Any, ...]]
) -> Row:
    by_key = _distinct_ids_by_key(published, topic)
    counts = Counter({"\x1f".join(map(str, key)): len(ids) for key, ids in by_key.items()})
    wanted = ["\x1f".join(map(str, key)) for key in expected]
    extra = len(set(counts) - set(wanted))
    return _per_contact_row(check, wanted, counts, wrong=extra)


def judge(
    people: Sequence[Person],
    sends: dict[str, Send],
    spikes: set[str],
    observed: Observed,
    faults: Sequence[FaultRecord],
    webhooks: dict[str, Any],
    settled: bool,
) -> Verdict:
    contacts = [p.contact.contact_id for p in people]
    category = {p.contact.contact_id: p.category for p in people}
    published = observed.published
    bounce_ids: dict[str, set[str]] = defaultdict(set)
    for event in published:
        if event.topic == Topic.MESSAGE_BOUNCED:
            bounce_ids[str(event.data.get("contact_id"))].add(event.event_id)
    bounce_of = {c: next(iter(ids)) for c, ids in bounce_ids.items() if len(ids) == 1}

    rows = [_topic_row("bounce published (message.bounced)", published, Topic.MESSAGE_BOUNCED,
                       [(sends[c].message_id,) for c in contacts])]  # fmt: skip
    stored = Counter(str(b.get("contact_id")) for b in observed.api.get("bounces", []))
    rows.append(_per_contact_row("bounce stored (GET /v1/bounces)", contacts, stored))

    runs = observed.api.get("runs", [])
    paused = Counter(str(r["contact_id"]) for r in runs if r["status"] == "paused")
    run_wrong = sum(
        1
        for r in runs
        if r["status"] == "paused"
        and (
            (r.get("pause") or {}).get("bounce_id") != bounce_of.get(r["contact_id"])
            or r["bounce_count"] != 1
        )
    )
    rows.append(_per_contact_row("run paused on its bounce (GET /v1/runs)", contacts, paused, run_wrong))

    tasks = [t for t in observed.api.get("tasks", []) if t["status"] == "open"]
    open_tasks = Counter(str(t["contact_id"]) for t in tasks)
    task_wrong = sum(
        1 for t in tasks if t["category"] != category.get(t["contact_id"]) or len(t["bounces"]) != 1
    )
    rows.append(
        _per_contact_row("one open task, its category (GET /v1/tasks)", contacts, open_tasks, task_wrong)
    )

    labelled: Counter[str] = Counter()
    for thread in observed.api.get("threads", []):
        for message in thread["messages"]:
            if message.get("bounce") is not None:
                labelled[str(thread["contact_id"])] += message["labels"].count("bounced")
    rows.append(_per_contact_row("message labelled bounced (GET /v1/threads)", contacts, labelled))

    refunds = Counter(str(r["reveal_id"]) for r in observed.api.get("refunds", []))
    reveals = [p.contact.reveal_id for p in people]
    rows.append(_per_contact_row("one refund record per reveal (GET /v1/refunds)", reveals, refunds))

    runs_of = {str(r["contact_id"]): str(r["run_id"]) for r in runs}
    rows.append(_topic_row("run.paused once per run", published, Topic.RUN_PAUSED,
                           [(runs_of.get(c), 1) for c in contacts]))  # fmt: skip
    rows.append(_topic_row("task.created once per contact", published, Topic.TASK_CREATED,
                           [(c,) for c in contacts]))  # fmt: skip
    rows.append(_topic_row("thread.message_labeled once", published, Topic.THREAD_MESSAGE_LABELED,
                           [(sends[c].message_id, "bounced") for c in contacts]))  # fmt: skip
    rows.append(_topic_row("refund.eligibility_recorded once", published, Topic.REFUND_ELIGIBILITY_RECORDED,
                           [(r,) for r in reveals]))  # fmt: skip
    rows.append(_topic_row("employer.bounce_spike once per employer", published, Topic.EMPLOYER_BOUNCE_SPIKE,
                           [(d,) for d in sorted(spikes)]))  # fmt: skip
    for topic in NEVER_EXPECTED:
        count = sum(1 for e in published if e.topic == topic)
        rows.append(Row(f"{topic} (none expected)", 0, count, wrong=count))

    doubled = doubled_business_keys(published)
    total, by_fault = repeats_by_fault(published, faults)
    dead = {topic: observed.dead_letters.get(topic, 0) for topic in DEAD_LETTER_TOPICS}
    dead |= {f"outbox_dead_letter ({name})": n for name, n in observed.outbox_dead_letters.items()}
    verdict = Verdict(rows, doubled, total, by_fault, dead, webhooks, observed.unpublished_outbox, settled)
    verdict.failures += [f"{row.check}: {_row_problem(row)}" for row in rows if not row.ok]
    verdict.failures += [
        f"{t}: {n} business keys under two or more event ids" for t, n in doubled.items() if n
    ]
    verdict.failures += [f"{t}: {n} dead-letter records" for t, n in dead.items() if n]
    verdict.failures += [
        f"{t}: {n} records that are not CloudEvents" for t, n in observed.undecodable.items()
    ]
    if webhooks.get("finally_2xx") != webhooks.get("deliveries"):
        verdict.failures.append(
            f"webhooks: {webhooks.get('deliveries', 0) - webhooks.get('finally_2xx', 0)} never answered 2xx"
        )
    verdict.failures += [
        f"{s}: {n} outbox rows unpublished" for s, n in observed.unpublished_outbox.items() if n
    ]
    if not settled:
        verdict.failures.append("the system did not settle (consumer lag or outbox never reached 0)")
    return verdict


def _row_problem(row: Row) -> str:
    counts = f"lost {row.lost}, doubled {row.doubled}, wrong {row.wrong}"
    return f"expected {row.expected}, found {row.found}, {counts}"
