"""Lookups of the bounce handler, served from a poll's prefetch when there is one, else by query.

A poll's prefetch loads, in one ``IN (...)`` query per table, the reveals of its bounces' addresses,
those reveals' refund records and the bounces already stored; the handlers then find them (or their
absence) in ``poll_lookups`` and record what they write there, so a later event of the same poll sees
it without a query or a flush.
"""

from collections.abc import Hashable, Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from refund_service.models import RefundBounce, RefundRecord, RefundReveal
from seevee_shared.bus.consumer import poll_lookups
from seevee_shared.cloudevents import CloudEvent


def _address_key(workspace_id: str, contact_id: str, email_key: str) -> Hashable:
    return ("refund_reveals", workspace_id, contact_id, email_key)


def _record_key(workspace_id: str, reveal_id: str) -> Hashable:
    return ("refund_record", workspace_id, reveal_id)


def _bounce_key(workspace_id: str, bounce_id: str) -> Hashable:
    return ("refund_bounce", workspace_id, bounce_id)


def recipient_key(recipient: str) -> str:
    """What a bounce is matched on: its recipient as a reveal's ``email_key``."""
    return recipient.strip().lower()


async def prefetch_bounces(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
    """Load what a poll's ``message.bounced`` events will look up: one query per table and workspace."""
    lookups = poll_lookups(session)
    if lookups is None:
        return
    wanted: dict[str, tuple[set[tuple[str, str]], set[str]]] = {}
    for event in events:
        bounce_id, contact_id = event.data.get("bounce_id"), event.data.get("contact_id")
        recipient = event.data.get("recipient")
        if isinstance(bounce_id, str) and isinstance(contact_id, str) and isinstance(recipient, str):
            addresses, bounces = wanted.setdefault(event.workspaceid, (set(), set()))
            addresses.add((contact_id, recipient_key(recipient)))
            bounces.add(bounce_id)
    for workspace_id, (addresses, bounces) in wanted.items():
        await _prefetch_workspace(session, lookups, workspace_id, addresses, bounces)


async def _prefetch_workspace(
    session: AsyncSession,
    lookups: dict[Hashable, object],
    workspace_id: str,
    addresses: set[tuple[str, str]],
    bounces: set[str],
) -> None:
    reveals: dict[tuple[str, str], list[RefundReveal]] = {address: [] for address in addresses}
    rows = await session.exec(
        select(RefundReveal)
        .where(
            RefundReveal.workspace_id == workspace_id,
            col(RefundReveal.contact_id).in_({contact_id for contact_id, _ in addresses}),
            col(RefundReveal.email_key).in_({email_key for _, email_key in addresses}),
        )
        .order_by(col(RefundReveal.revealed_at), col(RefundReveal.id))
    )
    for reveal in rows:
        of_address = reveals.get((reveal.contact_id, reveal.email_key))
        if of_address is not None:
            of_address.append(reveal)
    reveal_ids = {reveal.reveal_id for of_address in reveals.values() for reveal in of_address}
    for reveal_id in reveal_ids:
        lookups[_record_key(workspace_id, reveal_id)] = None
    if reveal_ids:
        records = await session.exec(
            select(RefundRecord).where(
                RefundRecord.workspace_id == workspace_id, col(RefundRecord.reveal_id).in_(reveal_ids)
            )
        )
        for record in records:
            lookups[_record_key(workspace_id, record.reveal_id)] = record
    for (contact_id, email_key), of_address in reveals.items():
        lookups[_address_key(workspace_id, contact_id, email_key)] = of_address
    for bounce_id in bounces:
        lookups[_bounce_key(workspace_id, bounce_id)] = False
    stored = await session.exec(
        select(RefundBounce.bounce_id).where(
            RefundBounce.workspace_id == workspace_id, col(RefundBounce.bounce_id).in_(bounces)
        )
    )
    for bounce_id in stored:
        lookups[_bounce_key(workspace_id, bounce_id)] = True


def prefetched_reveals(
    session: AsyncSession, workspace_id: str, contact_id: str, email_key: str
) -> list[RefundReveal] | None:
    """The address's reveals by ``revealed_at`` then id, or None when the poll did not load them."""
    lookups = poll_lookups(session)
    if lookups is None:
        return None
    found: list[RefundReveal] | None = lookups.get(_address_key(workspace_id, contact_id, email_key))
    return found


def prefetched_record(session: AsyncSession, workspace_id: str, reveal_id: str) -> RefundRecord | None:
    """The reveal's refund record; only asked of a reveal ``prefetched_reveals`` gave or one remembered."""
    lookups = poll_lookups(session)
    assert lookups is not None, "a prefetched record is read on a prefetched poll only"
    found: RefundRecord | None = lookups.get(_record_key(workspace_id, reveal_id))
    return found


def prefetched_seen(session: AsyncSession, workspace_id: str, bounce_id: str) -> bool | None:
    """Whether the bounce is stored (or written earlier in the poll); None when the poll did not look."""
    lookups = poll_lookups(session)
    if lookups is None:
        return None
    seen: bool | None = lookups.get(_bounce_key(workspace_id, bounce_id))
    return seen


def remember_bounce(session: AsyncSession, bounce: RefundBounce) -> None:
    """A bounce written by this poll: a later event bringing it again finds it stored."""
    lookups = poll_lookups(session)
    if lookups is not None:
        lookups[_bounce_key(bounce.workspace_id, bounce.bounce_id)] = True


def remember_reveal(session: AsyncSession, reveal: RefundReveal) -> None:
    """A reveal written by this poll joins its address's loaded reveals, after those of its moment
    (it gets the highest id), and has no refund record yet."""
    lookups = poll_lookups(session)
    if lookups is None:
        return
    lookups[_record_key(reveal.workspace_id, reveal.reveal_id)] = None
    of_address = lookups.get(_address_key(reveal.workspace_id, reveal.contact_id, reveal.email_key))
    if isinstance(of_address, list):
        at = len(of_address)
        while at > 0 and of_address[at - 1].revealed_at > reveal.revealed_at:
            at -= 1
        of_address.insert(at, reveal)


def remember_record(session: AsyncSession, record: RefundRecord | None) -> None:
    """A refund record as this poll left it, for a later bounce of the same reveal."""
    lookups = poll_lookups(session)
    if lookups is not None and record is not None:
        lookups[_record_key(record.workspace_id, record.reveal_id)] = record


def flagged_periods(session: AsyncSession, workspace_id: str, employer_domain: str) -> set[datetime] | None:
    """The employer's spike periods this poll saw flagged (a flag is never lifted), to add to; None off
    a prefetched poll."""
    lookups = poll_lookups(session)
    if lookups is None:
        return None
    key = ("refund_spike_periods", workspace_id, employer_domain)
    periods = lookups.get(key)
    if not isinstance(periods, set):
        periods = set()
        lookups[key] = periods
    return periods
