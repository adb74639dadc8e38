"""The run-orchestrator's store: the only module that runs SQL (consumer polls, the API, the scheduler).

A poll's ``preload`` loads, in one query per table and workspace, the runs its events name, every run
to the recipients its dead mailboxes and complaints reach, their steps and the bounces already
counted. The handlers' lookups are answered from memory (runs to a recipient are kept in every status
and filtered when asked, since an earlier event of the poll may change one); a lookup that was not
preloaded loads lazily, as on the careful path and in the API. The base ``Store`` writes the poll's
changes in bulk. On PostgreSQL the runs are row-locked first, so replicas and the API take turns on a
run instead of overwriting each other; SQLite serializes writers anyway (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, insert, or_, select, update

from run_orchestrator import domain, events_out
from run_orchestrator.models import RunBounceRecord, RunRecord, RunStepRecord
from seevee_shared.bus import Event, of_type
from seevee_shared.events import BounceCategory, MessageBounced, MessageComplained, MessageSent
from seevee_shared.store import Entity, In, Rows, SqlRows, Store, table_of

RUNS = Entity(RunRecord, domain.RunRow)
STEPS = Entity(RunStepRecord, domain.StepRow)
BOUNCES = Entity(RunBounceRecord, domain.RunBounceRow)
_RUNS = table_of(RunRecord)
_STEPS = table_of(RunStepRecord)

_Key = tuple[str, str]


def insert_runs(connection: Connection, runs: Sequence[domain.StoredRun]) -> None:
    """New runs and their steps, one statement per table, on a synchronous connection: what the
    group commit of ``POST /v1/runs`` writes (``Database.run_transaction``); a creation publishes
    nothing."""
    connection.execute(insert(_RUNS), [RUNS.new_values(stored.record) for stored in runs])
    connection.execute(insert(_STEPS), [STEPS.new_values(step) for stored in runs for step in stored.steps])


class RunStore(Store):
    entities = (RUNS, STEPS, BOUNCES)

    def __init__(self, rows: Rows) -> None:
        super().__init__(rows)
        self._stored: dict[str, domain.StoredRun] = {}
        self._by_id: dict[_Key, domain.StoredRun | None] = {}
        self._to: dict[_Key, list[domain.StoredRun]] = {}
        self._counted: dict[tuple[str, str], domain.RunBounceRow | None] = {}

    async def preload(self, events: Sequence[Event[Any]]) -> None:
        wanted: dict[str, tuple[set[str], set[str], set[str], set[tuple[str, str]]]] = {}

        def of(workspace_id: str) -> tuple[set[str], set[str], set[str], set[tuple[str, str]]]:
            return wanted.setdefault(workspace_id, (set(), set(), set(), set()))

        for sent in of_type(events, MessageSent):
            if sent.payload.run_id is not None:
                of(sent.meta.workspace_id)[0].add(sent.payload.run_id)
        for bounced in of_type(events, MessageBounced):
            if bounced.payload.run_id is not None:
                run_ids, dead, _, counted = of(bounced.meta.workspace_id)
                run_ids.add(bounced.payload.run_id)
                counted.add((bounced.payload.run_id, bounced.payload.bounce_id))
                if bounced.payload.category == BounceCategory.MAILBOX_UNKNOWN:
                    dead.add(bounced.payload.run_id)
        for complained in of_type(events, MessageComplained):
            run_ids, _, keys, _ = of(complained.meta.workspace_id)
            keys.add(domain.recipient_key(complained.payload.recipient))
            if complained.payload.run_id is not None:
                run_ids.add(complained.payload.run_id)
        for workspace_id, (run_ids, dead, keys, counted) in wanted.items():
            found = await self._load_runs(workspace_id, run_ids)
            keys |= {stored.record.recipient_key for stored in found if stored.record.run_id in dead}
            await self._load_recipients(workspace_id, keys)
            await self._load_counted({pair for pair in counted if (workspace_id, pair[0]) in self._by_id})

    async def _load_runs(self, workspace_id: str, run_ids: Collection[str]) -> list[domain.StoredRun]:
        await self._lock(_RUNS.c.workspace_id == workspace_id, _RUNS.c.run_id.in_(list(run_ids)))
        found = await self._with_steps(await self.load(RUNS, workspace_id=workspace_id, run_id=In(run_ids)))
        for run_id in run_ids:
            self._by_id[(workspace_id, run_id)] = None
        for stored in found:
            self._by_id[(workspace_id, stored.record.run_id)] = stored
        return found

    async def _load_recipients(self, workspace_id: str, keys: Collection[str]) -> None:
        keys = [key for key in keys if (workspace_id, key) not in self._to]
        if not keys:
            return
        await self._lock(_RUNS.c.workspace_id == workspace_id, _RUNS.c.recipient_key.in_(keys))
        records = await self.load(RUNS, workspace_id=workspace_id, recipient_key=In(keys))
        for key in keys:
            self._to[(workspace_id, key)] = []
        for stored in sorted(await self._with_steps(records), key=lambda s: s.record.run_id):
            self._to[(workspace_id, stored.record.recipient_key)].append(stored)
            self._by_id[(workspace_id, stored.record.run_id)] = stored

    async def _load_counted(self, pairs: Collection[tuple[str, str]]) -> None:
        for pair in pairs:
            self._counted[pair] = None
        if not pairs:
            return
        run_ids, bounce_ids = {run_id for run_id, _ in pairs}, {bounce_id for _, bounce_id in pairs}
        for row in await self.load(BOUNCES, run_id=In(run_ids), bounce_id=In(bounce_ids)):
            self._counted[(row.run_id, row.bounce_id)] = row

    async def _with_steps(self, records: Sequence[domain.RunRow]) -> list[domain.StoredRun]:
        """Each run with its steps in order; a run already held keeps its (maybe changed) rows."""
        missing = [record.run_id for record in records if record.run_id not in self._stored]
        if missing:
            by_run: dict[str, list[domain.StepRow]] = {run_id: [] for run_id in missing}
            for step in await self.load(STEPS, run_id=In(missing)):
                by_run[step.run_id].append(step)
            for record in records:
                if record.run_id in by_run:
                    steps = sorted(by_run[record.run_id], key=lambda s: s.step)
                    self._stored[record.run_id] = domain.StoredRun(record, steps)
        return [self._stored[record.run_id] for record in records]

    async def _lock(self, *where: ColumnElement[bool]) -> None:
        """Row-lock runs before reading them, where the database has row locks (PostgreSQL)."""
        if isinstance(self.rows, SqlRows) and self.rows.connection.dialect.name == "postgresql":
            query = select(_RUNS.c.run_id).where(*where).order_by(_RUNS.c.run_id).with_for_update()
            await self.connection.execute(query)

    # What the handlers and the API ask and tell.

    async def run(self, workspace_id: str, run_id: str) -> domain.StoredRun | None:
        """A run of this workspace with its steps; another workspace's run is as absent as a missing one."""
        if (workspace_id, run_id) not in self._by_id:
            await self._load_runs(workspace_id, {run_id})
        return self._by_id[(workspace_id, run_id)]

    async def runs_to(
        self, workspace_id: str, recipient: str, statuses: Collection[str]
    ) -> list[domain.StoredRun]:
        """The workspace's runs to one recipient (case-insensitive) now in one of ``statuses``."""
        key = domain.recipient_key(recipient)
        if (workspace_id, key) not in self._to:
            await self._load_recipients(workspace_id, {key})
        return [stored for stored in self._to[(workspace_id, key)] if stored.record.status in statuses]

    async def counted(self, run_id: str, bounce_id: str) -> domain.RunBounceRow | None:
        if (run_id, bounce_id) not in self._counted:
            await self._load_counted({(run_id, bounce_id)})
        return self._counted[(run_id, bounce_id)]

    def count(self, bounce: domain.RunBounceRow) -> None:
        self.add(bounce)
        self._counted[(bounce.run_id, bounce.bounce_id)] = bounce

    def create(self, stored: domain.StoredRun) -> None:
        """A new run and its steps (consumers never create runs)."""
        self.add(stored.record)
        for step in stored.steps:
            self.add(step)
        self._stored[stored.record.run_id] = stored
        self._by_id[(stored.record.workspace_id, stored.record.run_id)] = stored

    def save(
        self, stored: domain.StoredRun, outcome: domain.Outcome, now: datetime, cause_id: str | None = None
    ) -> None:
        """Write a decision and, with it, queue the lifecycle event it announces; an event caused by an
        incoming event (``cause_id``) gets an id derived from it, so a re-application yields the same."""
        if not outcome.changed:
            return
        for step in stored.apply(outcome.run, now):
            self.changed(step)
        self.changed(stored.record)
        if outcome.transition is not None:
            event_id = None
            if cause_id is not None:
                event_id = domain.lifecycle_event_id(cause_id, stored.record.run_id, outcome.transition.kind)
            self.publish(events_out.lifecycle(stored.record, outcome.transition, event_id))

    # What only SQL answers: the API's listings and the scheduler's claims.

    async def page(
        self,
        workspace_id: str,
        *,
        limit: int,
        status: str | None = None,
        contact_id: str | None = None,
        after: tuple[datetime, str] | None = None,
        lock: bool = False,
    ) -> list[domain.StoredRun]:
        """Oldest first, from after the (created_at, run_id) position of the previous page."""
        query = select(_RUNS).where(_RUNS.c.workspace_id == workspace_id)
        if status is not None:
            query = query.where(_RUNS.c.status == status)
        if contact_id is not None:
            query = query.where(_RUNS.c.contact_id == contact_id)
        if after is not None:
            created_at, run_id = after
            query = query.where(
                or_(
                    _RUNS.c.created_at > created_at,
                    and_(_RUNS.c.created_at == created_at, _RUNS.c.run_id > run_id),
                )
            )
        query = query.order_by(_RUNS.c.created_at, _RUNS.c.run_id).limit(limit)
        return await self._runs_of(query.with_for_update() if lock else query)

    async def runs(self, workspace_id: str, run_ids: Sequence[str]) -> dict[str, domain.StoredRun]:
        """The workspace's runs among ``run_ids``, row-locked, by id."""
        query = select(_RUNS).where(_RUNS.c.workspace_id == workspace_id, _RUNS.c.run_id.in_(run_ids))
        found = await self._runs_of(query.order_by(_RUNS.c.run_id).with_for_update())
        return {stored.record.run_id: stored for stored in found}

    async def claim_due(self, now: datetime, batch_size: int) -> int:
        """Claim due steps (scheduled -> due, only while the run is active) and announce each once.

        The conditional update is what makes a claim exactly-once between replicas; on PostgreSQL the
        candidates are locked SKIP LOCKED, so replicas split the work instead of waiting on each other.
        """
        candidates = (
            select(_STEPS.c.run_id, _STEPS.c.step, _STEPS.c.due_at)
            .join(_RUNS, _RUNS.c.run_id == _STEPS.c.run_id)
            .where(
                _RUNS.c.status == "active",
                _STEPS.c.step == _RUNS.c.current_step,
                _STEPS.c.status == "scheduled",
                _STEPS.c.due_at <= now,
            )
            .order_by(_STEPS.c.due_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        claimed: list[tuple[str, int, datetime]] = []
        for run_id, step, due_at in (await self.connection.execute(candidates)).all():
            still_active = select(_RUNS.c.run_id).where(_RUNS.c.run_id == run_id, _RUNS.c.status == "active")
            claim = (
                update(_STEPS)
                .where(
                    _STEPS.c.run_id == run_id,
                    _STEPS.c.step == step,
                    _STEPS.c.status == "scheduled",
                    _STEPS.c.run_id.in_(still_active),
                )
                .values(status="due")
            )
            if (await self.connection.execute(claim)).rowcount == 1:
                claimed.append((run_id, step, due_at))
        records = {r.run_id: r for r in await self.load(RUNS, run_id=In({c[0] for c in claimed}))}
        for run_id, step, due_at in claimed:
            record = records[run_id]
            record.updated_at = now
            self.changed(record)
            self.publish(events_out.step_due(record, step, due_at))
        return len(claimed)

    async def soft_bounced(self, now: datetime, batch_size: int) -> list[domain.StoredRun]:
        """Paused runs whose one automatic restart is due, locked SKIP LOCKED."""
        query = (
            select(_RUNS)
            .where(_RUNS.c.status == "paused", _RUNS.c.auto_restart_at <= now)
            .order_by(_RUNS.c.auto_restart_at)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        return await self._runs_of(query)

    async def _runs_of(self, query: Any) -> list[domain.StoredRun]:
        rows: Iterable[Any] = (await self.connection.execute(query)).mappings()
        records = [self._held(domain.RunRow(**row)) for row in rows]
        return await self._with_steps(records)

    def _held(self, record: domain.RunRow) -> domain.RunRow:
        """The object this store already holds for the row, if any (a pending change wins)."""
        known = self.known(RUNS, record.run_id)
        return known if known is not None else record
