"""What a fault run does, decided before it starts: the cast, who bounces how, which faults in which order.

Pure. Every contact has its own address and bounces exactly once, so each expected effect (a paused run,
one open task, a labelled message, one refund record) is countable per contact; employers are sized so
that most of them cross the spike rule and a few, whose contacts only bounce softly, never do.
"""

import random
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sandbox.bounce_payloads import STORIES, BounceKind
from sandbox.contacts import FIRST_NAMES, LAST_NAMES, DemoContact, Scenario, fold
from seevee_deploy.service_plan import SERVICES

WORKSPACE = "ws-chaos"
SENDER_MAILBOX = "sam.rivera@seevee-chaos.example"
STEP_DELAYS_HOURS = (0, 72, 120)
"""Step 1 is due at once; the follow-ups are days away, so a run only ever sends step 1."""
CONTACTS_PER_EMPLOYER = 20
HARD_KINDS = (BounceKind.MAILBOX_UNKNOWN, BounceKind.DEAD_DOMAIN)
ALL_KINDS = (
    BounceKind.MAILBOX_UNKNOWN,
    BounceKind.MAILBOX_FULL,
    BounceKind.DEAD_DOMAIN,
    BounceKind.SPAM_POLICY,
)
SOFT_KINDS = (BounceKind.MAILBOX_FULL, BounceKind.SPAM_POLICY)

FaultKind = Literal["kill", "broker", "db-stop"]


@dataclass(frozen=True)
class Person:
    contact: DemoContact
    kind: BounceKind

    @property
    def category(self) -> str:
        return STORIES[self.kind].category

    @property
    def hard(self) -> bool:
        return self.kind in HARD_KINDS


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    target: str
    """A service name for ``kill``; ``kafka`` for the broker; ``database`` for a stopped store."""


def employer_count(people: int) -> int:
    return max(1, people // CONTACTS_PER_EMPLOYER)


def quiet_employer(index: int) -> bool:
    """Every fourth employer's contacts only bounce softly: no spike may ever be flagged for it."""
    return index % 4 == 3


def cast(count: int, rng: random.Random) -> list[Person]:
    """``count`` contacts, each with a unique address, spread round-robin over the employers."""
    employers = employer_count(count)
    people = []
    for index in range(count):
        employer = index % employers
        turn = index // employers
        kind = SOFT_KINDS[turn % 2] if quiet_employer(employer) else ALL_KINDS[turn % len(ALL_KINDS)]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        domain = f"employer{employer:04d}.chaos.example"
        contact = DemoContact(
            contact_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            reveal_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            first_name=first,
            last_name=last,
            employer_name=f"Employer {employer}",
            employer_domain=domain,
            email=f"{fold(first)}.{fold(last)}.{index}@{domain}",
            scenario=Scenario(kind, True, None, None),
        )
        people.append(Person(contact, kind))
    return people


def expected_spikes(people: Sequence[Person], min_contacts: int, min_rate: float) -> set[str]:
    """Employers that end above the spike rule: every reveal and bounce falls inside one window."""
    reveals = Counter(p.contact.employer_domain for p in people)
    hard = Counter(p.contact.employer_domain for p in people if p.hard)
    return {
        domain
        for domain, count in hard.items()
        if count >= min_contacts and count / reveals[domain] >= min_rate
    }


def fault_plan(rounds: int, broker: bool, db_stop: bool, rng: random.Random) -> list[Fault]:
    """``rounds`` kill -9s of every service (shuffled per round); the broker and database faults in the
    middle of the run, where most of the work is in flight."""
    names = [spec.name for spec in SERVICES]
    faults: list[Fault] = []
    for _ in range(rounds):
        order = list(names)
        rng.shuffle(order)
        faults += [Fault("kill", name) for name in order]
    middle = len(faults) // 2
    extra = ([Fault("broker", "kafka")] if broker else []) + (
        [Fault("db-stop", "database")] if db_stop else []
    )
    return faults[:middle] + extra + faults[middle:]
