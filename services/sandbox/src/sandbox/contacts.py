"""The demo's cast: revealed contacts at fictional employers, and what will happen to each one's email.

Pure. The seed fixes names, employers and scenarios; ids are always fresh, so a second demo run never
collides with the first (one open task per contact, one refund record per reveal).
"""

import random
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from itertools import cycle

from sandbox.bounce_payloads import STORIES, BounceKind
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.events import ContactRevealed

REVEAL_SOURCE = "/seevee/reveals"
REVEAL_CREDITS = 1

FIRST_NAMES = (
    "Lena", "José", "Amara", "Tomasz", "Priya", "Zoë", "Kenji", "Ingrid", "Mateo", "Siobhan", "Óscar",
    "Hana", "Dmitri", "Chiara", "Kwame", "Astrid",
)  # fmt: skip
LAST_NAMES = (
    "Fischer", "Núñez", "Okafor", "Kowalski", "Raman", "Müller", "Tanaka", "Lindqvist", "García",
    "O'Brien", "Søndergaard", "Novak", "Petrov", "Bianchi", "Mensah", "Berg",
)  # fmt: skip
EMPLOYERS = (
    ("Kestrel Logistics", "kestrel-logistics.example"),
    ("Brightwater Analytics", "brightwater-analytics.example"),
    ("Oakridge Health", "oakridge-health.example"),
    ("Lumen Robotics", "lumen-robotics.example"),
    ("Harbor Finance", "harbor-finance.example"),
)
DEAD_EMPLOYERS = (
    ("Pinecrest Media", "pinecrest-media.example"),
    ("Quillon Labs", "quillon-labs.example"),
)
"""Companies that closed: their domains no longer take mail."""
ROLE_ADDRESSES = ("info", "sales", "contact")
UNDECOMPOSABLE = str.maketrans({"ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d"})


@dataclass(frozen=True)
class Scenario:
    """What happens to a contact's first email, and the refund answer that follows from it."""

    bounce: BounceKind | None
    address_fits_name: bool
    refund_status: str | None
    refund_basis: str | None

    @property
    def category(self) -> str | None:
        return STORIES[self.bounce].category if self.bounce else None


DELIVERED = Scenario(None, True, None, None)
BOUNCE_SCENARIOS = (
    Scenario(BounceKind.MAILBOX_UNKNOWN, True, "needs_review", "mailbox_unknown"),
    Scenario(BounceKind.MAILBOX_UNKNOWN, False, "eligible", "name_mismatch"),
    Scenario(BounceKind.DEAD_DOMAIN, True, "eligible", "dead_domain"),
    Scenario(BounceKind.MAILBOX_FULL, True, "ineligible", "temporary"),
    Scenario(BounceKind.SPAM_POLICY, True, "ineligible", "spam_policy"),
)
"""Each kind of bounce once, and the mailbox-unknown case twice: an address that fits the person's
name (they probably left) and one that never did (the reveal was wrong: a refund)."""


@dataclass(frozen=True)
class DemoContact:
    contact_id: str
    reveal_id: str
    first_name: str
    last_name: str
    employer_name: str
    employer_domain: str
    email: str
    scenario: Scenario


def fold(name: str) -> str:
    """A name as people type it into an address: no accents, apostrophes or spaces."""
    decomposed = unicodedata.normalize("NFKD", name.lower().translate(UNDECOMPOSABLE))
    return "".join(ch for ch in decomposed if ch.isascii() and ch.isalpha())


def address_for(first: str, last: str, fits: bool, domain: str, rng: random.Random) -> str:
    """An address that fits the name (first.last, flast, f.last, first), or a role address or someone
    else's (the person who held the job before) that does not."""
    if fits:
        f, la = fold(first), fold(last)
        local = rng.choice((f"{f}.{la}", f"{f[0]}{la}", f"{f[0]}.{la}", f))
    elif rng.random() < 0.5:
        local = rng.choice(ROLE_ADDRESSES)
    else:
        other_first = rng.choice([name for name in FIRST_NAMES if name != first])
        other_last = rng.choice([name for name in LAST_NAMES if name != last])
        local = f"{fold(other_first)}.{fold(other_last)}"
    return f"{local}@{domain}"


def scenarios(count: int, bounce_share: float) -> list[Scenario]:
    """``bounce_share`` of the contacts bounce (at least one when the share is above 0), in a fixed mix."""
    bounced = min(count, max(1 if bounce_share > 0 else 0, round(count * bounce_share)))
    mix = cycle(BOUNCE_SCENARIOS)
    return [next(mix) for _ in range(bounced)] + [DELIVERED] * (count - bounced)


def cast(count: int, bounce_share: float, rng: random.Random) -> list[DemoContact]:
    planned = scenarios(count, bounce_share)
    rng.shuffle(planned)
    people: list[DemoContact] = []
    taken: set[str] = set()
    for scenario in planned:
        dead = scenario.bounce is BounceKind.DEAD_DOMAIN
        for _ in range(100):  # one address per contact: a bounce would also pause a namesake's run
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            employer, domain = rng.choice(DEAD_EMPLOYERS if dead else EMPLOYERS)
            email = address_for(first, last, scenario.address_fits_name, domain, rng)
            if email not in taken:
                break
        taken.add(email)
        people.append(
            DemoContact(
                contact_id=str(uuid.uuid4()),
                reveal_id=str(uuid.uuid4()),
                first_name=first,
                last_name=last,
                employer_name=employer,
                employer_domain=domain,
                email=email,
                scenario=scenario,
            )
        )
    return people


def revealed_event(contact: DemoContact, workspace_id: str, at: datetime) -> CloudEvent:
    data = ContactRevealed(
        reveal_id=contact.reveal_id,
        contact_id=contact.contact_id,
        email=contact.email,
        first_name=contact.first_name,
        last_name=contact.last_name,
        employer_domain=contact.employer_domain,
        employer_name=contact.employer_name,
        credits=REVEAL_CREDITS,
        recommended=contact.scenario.address_fits_name,
        revealed_at=at,
    )
    return CloudEvent.build(
        data, source=REVEAL_SOURCE, workspace_id=workspace_id, subject=contact.contact_id, time=at
    )
