"""The durable write behind every 2xx: one transaction per delivery, told apart from a store outage."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bounce_ingest.record_bounces import DeliveryCounts, record_delivery
from bounce_ingest.records import ParsedRequest
from seevee_shared.db import Database


class StoreUnavailable(Exception):
    """The records could not be written; the sender must retry (a 5xx, never a 2xx or a 4xx)."""


async def store_delivery(
    db: Database, parsed: ParsedRequest, now: datetime, workspace_scope: str | None = None
) -> DeliveryCounts:
    """Store a delivery; a concurrent copy of it that committed first turns this one into duplicates."""
    try:
        try:
            return await _write(db, parsed, now, workspace_scope)
        except IntegrityError:
            return await _write(db, parsed, now, workspace_scope)
    except (SQLAlchemyError, OSError) as error:
        raise StoreUnavailable(repr(error)) from error


async def _write(
    db: Database, parsed: ParsedRequest, now: datetime, workspace_scope: str | None
) -> DeliveryCounts:
    async with db.transaction() as session:
        return await record_delivery(session, parsed, now, workspace_scope)
