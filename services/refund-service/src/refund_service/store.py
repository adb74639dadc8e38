"""The refund-service's store: the only module that runs SQL (the consumer's polls and the API).

A poll's ``preload`` loads, in one query per table and workspace, what its events look up: the
bounces already stored and the reveals, waiting bounces and refunds of the addresses they name. The
handlers' lookups are then answered from memory, and what they add or change is kept here too, so a
later event of the same poll sees it. An employer's spike history (its hard bounces, reveals and
flagged periods) is loaded when a hard bounce first needs it, and counted by ``domain.spike``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from refund_service.domain import spike
from refund_service.domain.eligibility import domain_of
from refund_service.domain.rows import Bounce, Refund, Reveal, Spike
from refund_service.models import RefundBounce, RefundEmployerSpike, RefundRecord, RefundReveal
from seevee_shared.bus import Event, of_type
from seevee_shared.events import ContactRevealed, MessageBounced
from seevee_shared.store import Entity, In, Rows, SqlRows, Store, table_of

REVEALS = Entity(RefundReveal, Reveal)
BOUNCES = Entity(RefundBounce, Bounce)
REFUNDS = Entity(RefundRecord, Refund)
SPIKES = Entity(RefundEmployerSpike, Spike)
_REFUNDS = table_of(RefundRecord)

HARD = "mailbox_unknown"

_Address = tuple[str, str, str]  # workspace, contact, email key
_Employer = tuple[str, str]  # workspace, employer domain


def recipient_key(recipient: str) -> str:
    """What a bounce is matched on: its recipient as a reveal's ``email_key``."""
    return recipient.strip().lower()


def _by_time(moment: datetime, row_id: int | None) -> tuple[datetime, int, int]:
    """Rows of one moment in id order, those not yet written (no id) after them in the order added."""
    return (moment, 0 if row_id is not None else 1, row_id or 0)


class EmployerHistory:
    """What the spike rule counts for one employer domain: its matched hard bounces and its reveals."""

    def __init__(self) -> None:
        self.hard_bounces: dict[int, Bounce] = {}
        self.reveals: dict[int, Reveal] = {}

    def add_bounce(self, bounce: Bounce) -> None:
        self.hard_bounces[id(bounce)] = bounce

    def facts(self) -> tuple[list[spike.HardBounce], list[spike.RevealSeen]]:
        """The rows as the spike rule counts them."""
        hard = [
            spike.HardBounce(row.bounce_id, row.reveal_id, row.contact_id, row.bounced_at)
            for row in self.hard_bounces.values()
            if row.reveal_id is not None
        ]
        return hard, [spike.RevealSeen(row.reveal_id, row.revealed_at) for row in self.reveals.values()]

    def add_reveal(self, reveal: Reveal) -> None:
        self.reveals[id(reveal)] = reveal


class RefundStore(Store):
    entities = (REVEALS, BOUNCES, REFUNDS, SPIKES)

    def __init__(self, rows: Rows) -> None:
        super().__init__(rows)
        self._seen: dict[tuple[str, str], bool] = {}
        self._known_reveals: dict[tuple[str, str], bool] = {}
        self._reveals: dict[_Address, list[Reveal]] = {}
        self._bounces: dict[_Address, list[Bounce]] = {}
        self._refunds: dict[tuple[str, str], Refund | None] = {}
        self._flagged: dict[_Employer, set[datetime]] = {}
        self._history: dict[_Employer, EmployerHistory] = {}
        self._poll_history: dict[_Employer, EmployerHistory] = {}  # what this store matched or added

    async def preload(self, events: Sequence[Event[Any]]) -> None:
        wanted: dict[str, tuple[set[str], set[str], set[tuple[str, str]]]] = {}
        for bounced in of_type(events, MessageBounced):
            bounces, _, addresses = wanted.setdefault(bounced.meta.workspace_id, (set(), set(), set()))
            bounces.add(bounced.payload.bounce_id)
            addresses.add((bounced.payload.contact_id, recipient_key(bounced.payload.recipient)))
        for revealed in of_type(events, ContactRevealed):
            _, reveals, addresses = wanted.setdefault(revealed.meta.workspace_id, (set(), set(), set()))
            reveals.add(revealed.payload.reveal_id)
            addresses.add((revealed.payload.contact_id, revealed.payload.email.strip().lower()))
        for workspace_id, (bounces, reveals, addresses) in wanted.items():
            await self._load_seen(workspace_id, bounces)
            await self._load_known_reveals(workspace_id, reveals)
            await self._load_addresses(workspace_id, addresses)
        for workspace_id, employers in self._employers_to_check(events).items():
            await self._load_employers(workspace_id, employers)

    def _employers_to_check(self, events: Sequence[Event[Any]]) -> dict[str, set[str]]:
        """The employers whose spike rule the poll's hard bounces may run: those of the reveals the
        bounces' addresses have, and of the poll's reveals that hard bounces wait for."""
        found: dict[str, set[str]] = {}
        for bounced in of_type(events, MessageBounced):
            if bounced.payload.category == HARD:
                address = (bounced.meta.workspace_id, bounced.payload.contact_id)
                of_address = self._reveals.get((*address, recipient_key(bounced.payload.recipient)), [])
                found.setdefault(address[0], set()).update(r.employer_domain for r in of_address)
        for revealed in of_type(events, ContactRevealed):
            key = (
                revealed.meta.workspace_id,
                revealed.payload.contact_id,
                revealed.payload.email.strip().lower(),
            )
            if any(b.category == HARD and b.reveal_id is None for b in self._bounces.get(key, [])):
                found.setdefault(key[0], set()).add(domain_of(revealed.payload.employer_domain))
        return found

    async def _load_employers(self, workspace_id: str, employers: set[str]) -> None:
        """Flagged periods and spike histories of several employers, one query per table."""
        employers = {e for e in employers if (workspace_id, e) not in self._history}
        if not employers:
            return
        for employer_domain in employers:
            self._flagged.setdefault((workspace_id, employer_domain), set())
            self._history[(workspace_id, employer_domain)] = EmployerHistory()
        for flagged in await self.load(SPIKES, workspace_id=workspace_id, employer_domain=In(employers)):
            self._flagged[(workspace_id, flagged.employer_domain)].add(flagged.period_start)
        hard = await self.load(
            BOUNCES, workspace_id=workspace_id, employer_domain=In(employers), category=HARD
        )
        for bounce in hard:
            if bounce.reveal_id is not None and bounce.employer_domain is not None:
                self._history[(workspace_id, bounce.employer_domain)].add_bounce(bounce)
        for reveal in await self.load(REVEALS, workspace_id=workspace_id, employer_domain=In(employers)):
            self._history[(workspace_id, reveal.employer_domain)].add_reveal(reveal)
        for employer_domain in employers:
            pending = self._poll_history.get((workspace_id, employer_domain))
            if pending is not None:
                history = self._history[(workspace_id, employer_domain)]
                history.hard_bounces.update(pending.hard_bounces)
                history.reveals.update(pending.reveals)

    async def _load_seen(self, workspace_id: str, bounce_ids: set[str]) -> None:
        if not bounce_ids:
            return
        for bounce_id in bounce_ids:
            self._seen.setdefault((workspace_id, bounce_id), False)
        for row in await self.load(BOUNCES, workspace_id=workspace_id, bounce_id=In(bounce_ids)):
            self._seen[(workspace_id, row.bounce_id)] = True

    async def _load_known_reveals(self, workspace_id: str, reveal_ids: set[str]) -> None:
        if not reveal_ids:
            return
        for reveal_id in reveal_ids:
            self._known_reveals.setdefault((workspace_id, reveal_id), False)
        for row in await self.load(REVEALS, workspace_id=workspace_id, reveal_id=In(reveal_ids)):
            self._known_reveals[(workspace_id, row.reveal_id)] = True

    async def _load_addresses(self, workspace_id: str, addresses: set[tuple[str, str]]) -> None:
        """The addresses' reveals (with their refunds) and stored bounces, one query per table."""
        addresses = {a for a in addresses if (workspace_id, *a) not in self._reveals}
        if not addresses:
            return
        contacts, keys = {c for c, _ in addresses}, {k for _, k in addresses}
        for contact_id, email_key in addresses:
            self._reveals[(workspace_id, contact_id, email_key)] = []
            self._bounces[(workspace_id, contact_id, email_key)] = []
        reveals = await self.load(
            REVEALS, workspace_id=workspace_id, contact_id=In(contacts), email_key=In(keys)
        )
        for reveal in sorted(reveals, key=lambda r: _by_time(r.revealed_at, r.id)):
            of_address = self._reveals.get((workspace_id, reveal.contact_id, reveal.email_key))
            if of_address is not None:
                of_address.append(reveal)
        bounces = await self.load(
            BOUNCES, workspace_id=workspace_id, contact_id=In(contacts), recipient_key=In(keys)
        )
        for bounce in sorted(bounces, key=lambda b: _by_time(b.bounced_at, b.id)):
            stored = self._bounces.get((workspace_id, bounce.contact_id, bounce.recipient_key))
            if stored is not None:
                stored.append(bounce)
        reveal_ids = {r.reveal_id for r in reveals if (workspace_id, r.reveal_id) not in self._refunds}
        if reveal_ids:
            for reveal_id in reveal_ids:
                self._refunds[(workspace_id, reveal_id)] = None
            for refund in await self.load(REFUNDS, workspace_id=workspace_id, reveal_id=In(reveal_ids)):
                self._refunds[(workspace_id, refund.reveal_id)] = refund

    # What the handlers ask.

    async def bounce_stored(self, workspace_id: str, bounce_id: str) -> bool:
        """Whether the bounce is stored already (or added earlier in this poll)."""
        if (workspace_id, bounce_id) not in self._seen:
            await self._load_seen(workspace_id, {bounce_id})
        return self._seen[(workspace_id, bounce_id)]

    async def reveal_known(self, workspace_id: str, reveal_id: str) -> bool:
        if (workspace_id, reveal_id) not in self._known_reveals:
            await self._load_known_reveals(workspace_id, {reveal_id})
        return self._known_reveals[(workspace_id, reveal_id)]

    async def reveals_of(self, workspace_id: str, contact_id: str, email_key: str) -> list[Reveal]:
        """The address's reveals by ``revealed_at``, then in the order they were stored."""
        await self._load_addresses(workspace_id, {(contact_id, email_key)})
        return self._reveals[(workspace_id, contact_id, email_key)]

    async def waiting_bounces(self, workspace_id: str, contact_id: str, email_key: str) -> list[Bounce]:
        """The address's bounces no reveal has matched yet, oldest first."""
        await self._load_addresses(workspace_id, {(contact_id, email_key)})
        stored = self._bounces[(workspace_id, contact_id, email_key)]
        waiting = [bounce for bounce in stored if bounce.reveal_id is None]
        return sorted(waiting, key=lambda bounce: _by_time(bounce.bounced_at, bounce.id))

    async def refund_of(self, workspace_id: str, reveal_id: str) -> Refund | None:
        """The reveal's refund record (asked of reveals ``reveals_of`` gave, or added in the poll)."""
        if (workspace_id, reveal_id) not in self._refunds:
            found = await self.load(REFUNDS, workspace_id=workspace_id, reveal_id=reveal_id)
            self._refunds[(workspace_id, reveal_id)] = found[0] if found else None
        return self._refunds[(workspace_id, reveal_id)]

    async def flagged_periods(self, workspace_id: str, employer_domain: str) -> set[datetime]:
        """The employer's periods with a spike already emitted (a flag is never lifted)."""
        key = (workspace_id, employer_domain)
        if key not in self._flagged:
            spikes = await self.load(SPIKES, workspace_id=workspace_id, employer_domain=employer_domain)
            self._flagged[key] = {spike.period_start for spike in spikes}
        return self._flagged[key]

    async def employer_history(self, workspace_id: str, employer_domain: str) -> EmployerHistory:
        """The employer's matched hard bounces and reveals, stored and added by this store."""
        await self._load_employers(workspace_id, {employer_domain})
        return self._history[(workspace_id, employer_domain)]

    # What the handlers tell.

    def add_reveal(self, reveal: Reveal) -> None:
        """A new reveal: after those of its moment at its address, with no refund yet."""
        self.add(reveal)
        self._known_reveals[(reveal.workspace_id, reveal.reveal_id)] = True
        self._refunds.setdefault((reveal.workspace_id, reveal.reveal_id), None)
        of_address = self._reveals.get((reveal.workspace_id, reveal.contact_id, reveal.email_key))
        if of_address is not None:
            at = len(of_address)
            while at > 0 and of_address[at - 1].revealed_at > reveal.revealed_at:
                at -= 1
            of_address.insert(at, reveal)
        self._of_employer(reveal.workspace_id, reveal.employer_domain).add_reveal(reveal)

    def add_bounce(self, bounce: Bounce) -> None:
        self.add(bounce)
        self._seen[(bounce.workspace_id, bounce.bounce_id)] = True
        stored = self._bounces.get((bounce.workspace_id, bounce.contact_id, bounce.recipient_key))
        if stored is not None:
            stored.append(bounce)

    def matched(self, bounce: Bounce) -> None:
        """A bounce now matched to its reveal (``reveal_id`` and ``employer_domain`` set)."""
        if bounce.id is not None:
            self.changed(bounce)  # a new one's insert carries the change
        if bounce.category == HARD and bounce.employer_domain is not None:
            self._of_employer(bounce.workspace_id, bounce.employer_domain).add_bounce(bounce)

    def add_refund(self, refund: Refund) -> None:
        self.add(refund)
        self._refunds[(refund.workspace_id, refund.reveal_id)] = refund

    def flag(self, spike: Spike) -> None:
        self.add(spike)
        self._flagged.setdefault((spike.workspace_id, spike.employer_domain), set()).add(spike.period_start)

    def _of_employer(self, workspace_id: str, employer_domain: str) -> EmployerHistory:
        """Where a row this store adds to an employer's history goes: the loaded history, if any, and
        the poll's own list (merged into the history when it is loaded later)."""
        key = (workspace_id, employer_domain)
        pending = self._poll_history.setdefault(key, EmployerHistory())
        loaded = self._history.get(key)
        return loaded if loaded is not None else pending

    # What the API reads and changes.

    async def refund(self, workspace_id: str, refund_id: str, *, lock: bool = False) -> Refund | None:
        """Another workspace's refund is as absent as a missing one; ``lock`` holds its row (PostgreSQL)
        until the request's transaction ends."""
        if lock and isinstance(self.rows, SqlRows):
            await self.connection.execute(
                select(_REFUNDS.c.refund_id)
                .where(_REFUNDS.c.workspace_id == workspace_id, _REFUNDS.c.refund_id == refund_id)
                .with_for_update()
            )
        found = await self.load(REFUNDS, workspace_id=workspace_id, refund_id=refund_id)
        return found[0] if found else None

    async def refunds(
        self,
        workspace_id: str,
        *,
        limit: int,
        status: str | None = None,
        contact_id: str | None = None,
        after: tuple[datetime, str] | None = None,
    ) -> list[Refund]:
        """Newest first, from after the (created_at, refund_id) position of the previous page."""
        query = select(_REFUNDS).where(_REFUNDS.c.workspace_id == workspace_id)
        if status is not None:
            query = query.where(_REFUNDS.c.status == status)
        if contact_id is not None:
            query = query.where(_REFUNDS.c.contact_id == contact_id)
        if after is not None:
            created_at, refund_id = after
            query = query.where(
                or_(
                    _REFUNDS.c.created_at < created_at,
                    and_(_REFUNDS.c.created_at == created_at, _REFUNDS.c.refund_id < refund_id),
                )
            )
        query = query.order_by(_REFUNDS.c.created_at.desc(), _REFUNDS.c.refund_id.desc()).limit(limit)
        result = await self.connection.execute(query)
        return [Refund(**row) for row in result.mappings()]

    async def employer_window(
        self, workspace_id: str, employer_domain: str, end: datetime, window_days: int
    ) -> spike.EmployerWindow:
        """The counts of the window_days up to ``end``, by ``domain.spike.count_window``."""
        history = await self.employer_history(workspace_id, employer_domain)
        return spike.count_window(*history.facts(), end, window_days)

    async def latest_spike(self, workspace_id: str, employer_domain: str) -> Spike | None:
        spikes = await self.load(SPIKES, workspace_id=workspace_id, employer_domain=employer_domain)
        return max(spikes, key=lambda spike: spike.period_start, default=None)
