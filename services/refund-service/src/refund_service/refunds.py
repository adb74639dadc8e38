"""Apply a matched bounce to its reveal's refund record: assess, keep the strongest, announce changes."""

import uuid
from dataclasses import dataclass
from typing import cast

from sqlalchemy import and_, exists
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from refund_service.domain.eligibility import (
    SETTLED_STATUSES,
    Assessment,
    Basis,
    Bounce,
    Reveal,
    Status,
    assess,
    domain_of,
    merge,
    needs_dns_check,
)
from refund_service.mail_hosts import DomainChecker
from refund_service.models import RefundBounce, RefundRecord, RefundReveal
from refund_service.store import (
    prefetched_record,
    prefetched_reveals,
    prefetched_seen,
    remember_record,
)
from seevee_shared.bus import outbox_add
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import utcnow
from seevee_shared.events import RefundDecided, RefundEligibilityRecorded
from seevee_shared.logging import get_logger

SOURCE = "/seevee/refund-service"
log = get_logger(__name__)
_REFUND_NAMESPACE = uuid.UUID("0b7e4f1c-2d3a-5e6f-8a9b-1c2d3e4f5a6b")


@dataclass(frozen=True)
class EligibilityRules:
    window_days: int
    checker: DomainChecker


def refund_id_for(workspace_id: str, reveal_id: str) -> str:
    """Deterministic, so a replayed reveal or bounce can only ever find the same record."""
    return str(uuid.uuid5(_REFUND_NAMESPACE, f"{workspace_id}\x1f{reveal_id}"))


def _reveal_facts(reveal: RefundReveal) -> Reveal:
    return Reveal(reveal.email, reveal.first_name, reveal.last_name, reveal.revealed_at)


def _bounce_facts(bounce: RefundBounce) -> Bounce:
    return Bounce(bounce.recipient_key, bounce.category, bounce.reason, bounce.bounced_at)


async def _assess(reveal: RefundReveal, bounce: RefundBounce, rules: EligibilityRules) -> Assessment:
    reveal_facts, bounce_facts = _reveal_facts(reveal), _bounce_facts(bounce)
    has_mail_host: bool | None = None
    if needs_dns_check(reveal_facts, bounce_facts, rules.window_days):
        has_mail_host = await rules.checker.has_mail_host(domain_of(reveal.email))
    return assess(reveal_facts, bounce_facts, has_mail_host, rules.window_days)


async def apply_bounce(
    session: AsyncSession,
    reveal: RefundReveal,
    record: RefundRecord | None,
    bounce: RefundBounce,
    rules: EligibilityRules,
) -> RefundRecord | None:
    """One refund record per reveal: created by its first bounce, moved only by a stronger basis.

    ``record`` is the reveal's record as it stands (None before its first bounce); the caller looked it
    up with the reveal, and gets back the record as it stands after this bounce.
    """
    bounce.reveal_id = reveal.reveal_id
    bounce.employer_domain = reveal.employer_domain
    session.add(bounce)
    if record is not None and as_status(record.status) in SETTLED_STATUSES:
        return record
    assessment = await _assess(reveal, bounce, rules)
    merged = merge(
        as_status(record.status) if record else None, as_basis(record.basis) if record else None, assessment
    )
    if merged is None:
        return record
    if record is None:
        record = RefundRecord(
            refund_id=refund_id_for(reveal.workspace_id, reveal.reveal_id),
            workspace_id=reveal.workspace_id,
            reveal_id=reveal.reveal_id,
            contact_id=reveal.contact_id,
            email=reveal.email,
            bounce_id=bounce.bounce_id,
            status=merged.status,
            basis=merged.basis,
            explanation=merged.explanation,
            credits=reveal.credits,
        )
    else:
        record.bounce_id = bounce.bounce_id
        record.status, record.basis, record.explanation = merged.status, merged.basis, merged.explanation
        record.updated_at = utcnow()
    session.add(record)
    remember_record(session, record)
    outbox_add(session, refund_event(record, RefundEligibilityRecorded))
    log.debug(
        "refund eligibility recorded",
        refund_id=record.refund_id,
        contact_id=record.contact_id,
        bounce_id=bounce.bounce_id,
        status=record.status,
        basis=record.basis,
    )
    return record


def refund_event(
    record: RefundRecord, model: type[RefundEligibilityRecorded] | type[RefundDecided]
) -> CloudEvent:
    data = model(
        refund_id=record.refund_id,
        reveal_id=record.reveal_id,
        contact_id=record.contact_id,
        bounce_id=record.bounce_id,
        status=as_status(record.status),
        basis=as_basis(record.basis),
        credits=record.credits,
        decided_by=record.decided_by or record.requested_by,  # who acted last: support, else the requester
    )
    return CloudEvent.build(data, source=SOURCE, workspace_id=record.workspace_id, subject=record.contact_id)


def as_status(value: str) -> Status:
    return cast(Status, value)


def as_basis(value: str) -> Basis:
    return cast(Basis, value)


@dataclass(frozen=True)
class BounceMatch:
    """What the store knows of a bounce: whether it is stored already, and the reveal it hits."""

    seen: bool
    reveal: RefundReveal | None
    record: RefundRecord | None


async def match_bounce(session: AsyncSession, bounce: RefundBounce) -> BounceMatch:
    """Whether the bounce is stored already, and the reveal of its address with that reveal's refund
    record: the latest reveal made before the bounce, else the earliest after it. One query when the
    address was revealed, which is the common case; none when the poll prefetched them."""
    prefetched = _prefetched_match(session, bounce)
    if prefetched is not None:
        return prefetched
    seen = exists().where(
        col(RefundBounce.workspace_id) == bounce.workspace_id,
        col(RefundBounce.bounce_id) == bounce.bounce_id,
    )
    rows = (
        await session.exec(
            select(RefundReveal, RefundRecord, seen.label("seen"))
            .outerjoin(
                RefundRecord,
                and_(
                    col(RefundRecord.workspace_id) == col(RefundReveal.workspace_id),
                    col(RefundRecord.reveal_id) == col(RefundReveal.reveal_id),
                ),
            )
            .where(
                RefundReveal.workspace_id == bounce.workspace_id,
                RefundReveal.contact_id == bounce.contact_id,
                RefundReveal.email_key == bounce.recipient_key,
            )
            .order_by(col(RefundReveal.revealed_at), col(RefundReveal.id))
        )
    ).all()
    if not rows:
        return BounceMatch(bool((await session.exec(select(seen.label("seen")))).one()), None, None)
    before = [row for row in rows if row[0].revealed_at <= bounce.bounced_at]
    reveal, record, stored = before[-1] if before else rows[0]
    return BounceMatch(bool(stored), reveal, record)


def _prefetched_match(session: AsyncSession, bounce: RefundBounce) -> BounceMatch | None:
    """``match_bounce`` answered from the poll's lookups, or None when the poll did not load them."""
    workspace_id = bounce.workspace_id
    seen = prefetched_seen(session, workspace_id, bounce.bounce_id)
    reveals = prefetched_reveals(session, workspace_id, bounce.contact_id, bounce.recipient_key)
    if seen is None or reveals is None:
        return None
    if not reveals:
        return BounceMatch(seen, None, None)
    before = [reveal for reveal in reveals if reveal.revealed_at <= bounce.bounced_at]
    reveal = before[-1] if before else reveals[0]
    return BounceMatch(seen, reveal, prefetched_record(session, workspace_id, reveal.reveal_id))
