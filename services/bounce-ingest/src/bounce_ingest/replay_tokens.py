"""The replay guard the providers lean on, kept in the store so every replica sees every token."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bounce_ingest.store import IngestStore
from seevee_shared.db import Database
from seevee_shared.store import SqlRows


class StoredReplayGuard:
    """``ReplayGuard`` over ``ingest_replay_tokens``; each admission is its own short transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def admit(self, token: str, fingerprint: str, expires_at: datetime, now: datetime) -> bool:
        try:
            return await self._admit_once(token, fingerprint, expires_at, now)
        except IntegrityError:
            # Another replica recorded the same token at the same moment; its row now decides.
            return await self._admit_once(token, fingerprint, expires_at, now)

    async def _admit_once(self, token: str, fingerprint: str, expires_at: datetime, now: datetime) -> bool:
        async with self._db.transaction() as session:
            store = IngestStore(SqlRows(await session.connection()))
            admitted = await store.admit_token(token, fingerprint, expires_at, now)
            await store.write()
            return admitted
