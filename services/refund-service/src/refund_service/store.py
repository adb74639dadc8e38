"""The refund-service's store: the only module that runs SQL (the consumer's polls and the API).

A poll's ``preload`` loads, in one query per table and workspace, what its events look up: the
bounces already stored and the reveals, waiting bounces and refunds of the addresses they name. The
handlers' lookups are then answered from memory, and what they add or change is kept here too, so a
later event of the same poll sees it. For the employer spike check it loads only the spans of time
the poll's checks read (``domain.spike``: the flagged periods they touch, the hard bounces that may end
their windows, the rows those windows count), with range conditions on the indexed time columns, so
a poll's cost follows its windows, never the employer's whole history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select

from refund_service.domain import spike
from refund_service.domain.eligibility import domain_of
from refund_service.domain.rows import Bounce, Refund, Reveal, Spike
from refund_service.employer_history import EmployerHistory, Rows, Span, clusters
from refund_service.models import RefundBounce, RefundEmployerSpike, RefundRecord, RefundReveal
from seevee_shared.bus import Event, of_type
from seevee_shared.events import ContactRevealed, MessageBounced
from seevee_shared.store import Between, Entity, In, SqlRows, Store, table_of
from seevee_shared.store import Rows as StoreRows

REVEALS = Entity(RefundReveal, Reveal)
BOUNCES = Entity(RefundBounce, Bounce)
REFUNDS = Entity(RefundRecord, Refund)
SPIKES = Entity(RefundEmployerSpike, Spike)
_REFUNDS = table_of(RefundRecord)
_SPIKES = table_of(RefundEmployerSpike)

HARD = "mailbox_unknown"

_Address = tuple[str, str, str]  # workspace, contact, email key
_Employer = tuple[str, str]  # workspace, employer domain


def recipient_key(recipient: str) -> str:
    """What a bounce is matched on: its recipient as a reveal's ``email_key``."""
    return recipient.strip().lower()


def _by_time(moment: datetime, row_id: int | None) -> tuple[datetime, int, int]:
    """Rows of one moment in id order, those not yet written (no id) after them in the order added."""
    return (moment, 0 if row_id is not None else 1, row_id or 0)


class RefundStore(Store):
    entities = (REVEALS, BOUNCES, REFUNDS, SPIKES)

    def __init__(self, rows: StoreRows, spike_window_days: int | None = None) -> None:
        """``spike_window_days``: the spike rule's window, for ``preload`` to load what the poll's checks
        read (without it, each check loads its own rows when it runs)."""
        super().__init__(rows)
        self.spike_window_days = spike_window_days
        self._seen: dict[tuple[str, str], bool] = {}
        self._known_reveals: dict[tuple[str, str], bool] = {}
        self._reveals: dict[_Address, list[Reveal]] = {}
        self._bounces: dict[_Address, list[Bounce]] = {}
        self._refunds: dict[tuple[str, str], Refund | None] = {}
        self._history: dict[_Employer, EmployerHistory] = {}
        self._checked: set[tuple[str, str, datetime]] = set()
        """(workspace, employer, time) of the hard bounces whose spike check has what it reads."""

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
        if self.spike_window_days is not None:
            for workspace_id, checks in self._spike_checks(events).items():
                await self._load_checks(workspace_id, checks, self.spike_window_days)

    def _spike_checks(self, events: Sequence[Event[Any]]) -> dict[str, dict[str, set[datetime]]]:
        """Workspace -> employer -> times of the hard bounces the poll may check: the poll's, under the
        employers of their addresses' reveals (stored or in the poll), and those waiting for the poll's
        reveals, under theirs."""
        found: dict[str, dict[str, set[datetime]]] = {}
        in_poll: dict[_Address, set[str]] = {}
        for revealed in of_type(events, ContactRevealed):
            key = (
                revealed.meta.workspace_id,
                revealed.payload.contact_id,
                revealed.payload.email.strip().lower(),
            )
            employer = domain_of(revealed.payload.employer_domain)
            in_poll.setdefault(key, set()).add(employer)
            for waiting in self._bounces.get(key, []):
                if waiting.category == HARD and waiting.reveal_id is None:
                    found.setdefault(key[0], {}).setdefault(employer, set()).add(waiting.bounced_at)
        for bounced in of_type(events, MessageBounced):
            if bounced.payload.category == HARD:
                key = (
                    bounced.meta.workspace_id,
                    bounced.payload.contact_id,
                    recipient_key(bounced.payload.recipient),
                )
                employers = {r.employer_domain for r in self._reveals.get(key, [])} | in_poll.get(key, set())
                for employer in employers:
                    found.setdefault(key[0], {}).setdefault(employer, set()).add(bounced.payload.bounced_at)
        return found

    async def _load_checks(
        self, workspace_id: str, checks: dict[str, set[datetime]], window_days: int
    ) -> None:
        """What spike checks of hard bounces at these times read, per employer, in ``domain.spike``'s
        order: the flagged periods they touch, then the hard bounces that may end their windows (outside
        flagged periods), then the rows of the windows left to count. Each step is one query per table
        for all the employers (per cluster of overlapping spans), and loads only what is not loaded."""
        touched = {
            employer: [spike.periods_touched_by(at, window_days) for at in times]
            for employer, times in checks.items()
        }
        await self._load_spans(workspace_id, Rows.FLAGGED, touched)
        ending: dict[str, list[Span]] = {}
        for employer, times in checks.items():
            flagged = self._employer(workspace_id, employer).flagged
            opened = (spike.open_window_ends(at, window_days, flagged) for at in times)
            ending[employer] = [span for span in opened if span is not None]
        await self._load_spans(workspace_id, Rows.HARD_BOUNCES, ending)
        counted: dict[str, list[Span]] = {}
        for employer, times in checks.items():
            history = self._employer(workspace_id, employer)
            known = [*history.hard_bounce_times(), *times]  # the poll's own may end each other's windows
            for at in times:
                ends = spike.ends_to_count(at, known, window_days, history.flagged)
                span = spike.counted_span(ends, window_days)
                if span is not None:
                    counted.setdefault(employer, []).append(span)
        await self._load_spans(workspace_id, Rows.HARD_BOUNCES, counted)
        await self._load_spans(workspace_id, Rows.REVEALS, counted)
        self._checked.update(
            (workspace_id, employer, at) for employer, times in checks.items() for at in times
        )

    async def _load_spans(self, workspace_id: str, rows: Rows, wanted: dict[str, list[Span]]) -> None:
        """The employers' rows of one table inside the wanted spans, but those loaded already."""
        gaps = [
            (lo, hi, employer)
            for employer, spans in wanted.items()
            for span in spans
            for lo, hi in self._employer(workspace_id, employer).loaded[rows].missing(*span)
        ]
        for (lo, hi), employers in clusters(gaps):
            where = {
                "workspace_id": workspace_id,
                "employer_domain": In(employers),
                rows.value: Between(lo, hi),
            }
            if rows is Rows.FLAGGED:
                for flagged in await self.load(SPIKES, **where):
                    self._employer(workspace_id, flagged.employer_domain).flagged.add(flagged.period_start)
            elif rows is Rows.HARD_BOUNCES:
                for bounce in await self.load(BOUNCES, **where, category=HARD):
                    if bounce.reveal_id is not None and bounce.employer_domain is not None:
                        self._employer(workspace_id, bounce.employer_domain).add_bounce(bounce)
            else:
                for reveal in await self.load(REVEALS, **where):
                    self._employer(workspace_id, reveal.employer_domain).add_reveal(reveal)
            for employer in employers:
                self._employer(workspace_id, employer).loaded[rows].add(lo, hi)

    def _employer(self, workspace_id: str, employer_domain: str) -> EmployerHistory:
        """Where the employer's loaded rows, and those this store adds, are kept."""
        key = (workspace_id, employer_domain)
        history = self._history.get(key)
        if history is None:
            history = self._history[key] = EmployerHistory()
        return history

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

    async def spike_history(
        self, workspace_id: str, employer_domain: str, at: datetime, window_days: int
    ) -> EmployerHistory | None:
        """What the spike check of a hard bounce at ``at`` reads (loaded now if ``preload`` did not):
        the employer's flagged periods it touches and the rows of every window it falls in that ends
        outside them; None when there is no such window, so nothing is left to count."""
        if (workspace_id, employer_domain, at) not in self._checked:  # the poll's were loaded at once
            await self._load_checks(workspace_id, {employer_domain: {at}}, window_days)
        history = self._employer(workspace_id, employer_domain)
        if spike.ends_to_count(at, history.hard_bounce_times(), window_days, history.flagged):
            return history
        return None

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
        self._employer(reveal.workspace_id, reveal.employer_domain).add_reveal(reveal)

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
            self._employer(bounce.workspace_id, bounce.employer_domain).add_bounce(bounce)

    def add_refund(self, refund: Refund) -> None:
        self.add(refund)
        self._refunds[(refund.workspace_id, refund.reveal_id)] = refund

    def flag(self, spike: Spike) -> None:
        self.add(spike)
        self._employer(spike.workspace_id, spike.employer_domain).flagged.add(spike.period_start)

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
        """The counts of the window_days up to ``end``, by ``domain.spike.count_window`` over the rows
        of that window only."""
        span = {employer_domain: [(spike.window_start(end, window_days), end)]}
        await self._load_spans(workspace_id, Rows.HARD_BOUNCES, span)
        await self._load_spans(workspace_id, Rows.REVEALS, span)
        history = self._employer(workspace_id, employer_domain)
        return spike.count_window(*history.facts(), end, window_days)

    async def latest_spike(self, workspace_id: str, employer_domain: str) -> Spike | None:
        """The employer's last flagged period (one indexed row, however many there are)."""
        result = await self.connection.execute(
            select(_SPIKES)
            .where(_SPIKES.c.workspace_id == workspace_id, _SPIKES.c.employer_domain == employer_domain)
            .order_by(_SPIKES.c.period_start.desc())
            .limit(1)
        )
        found = result.mappings().first()
        return Spike(**found) if found is not None else None
