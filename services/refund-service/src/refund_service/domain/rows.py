"""The refund-service's rows as plain objects: the fields are exactly the tables' columns."""

from dataclasses import dataclass, field
from datetime import datetime

from seevee_shared.db import utcnow


@dataclass(eq=False)
class Reveal:
    """A reveal as ``contact.revealed`` told it: what a bounce is matched against."""

    workspace_id: str
    reveal_id: str
    contact_id: str
    email: str
    email_key: str
    first_name: str
    last_name: str
    employer_domain: str
    employer_name: str | None
    credits: int
    recommended: bool
    revealed_at: datetime
    id: int | None = None


@dataclass(eq=False)
class Bounce:
    """A bounce of a contact; ``reveal_id`` is set once it is matched to the reveal of its address."""

    workspace_id: str
    bounce_id: str
    contact_id: str
    recipient_key: str
    category: str
    reason: str
    bounced_at: datetime
    reveal_id: str | None = None
    employer_domain: str | None = None
    id: int | None = None


@dataclass(eq=False)
class Refund:
    """The one refund record of a reveal."""

    refund_id: str
    workspace_id: str
    reveal_id: str
    contact_id: str
    email: str
    bounce_id: str
    status: str
    basis: str
    explanation: str
    credits: int
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    requested_at: datetime | None = None
    requested_by: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None


@dataclass(eq=False)
class Spike:
    """An ``employer.bounce_spike`` already emitted: one per employer and period."""

    workspace_id: str
    employer_domain: str
    period_start: datetime
    detected_at: datetime
    hard_bounces: int
    distinct_contacts: int
    reveals: int
    rate: float
    id: int | None = None
