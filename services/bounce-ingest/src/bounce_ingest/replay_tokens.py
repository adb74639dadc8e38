"""The replay guard the providers lean on, kept in the store so every replica sees every token."""

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete

from bounce_ingest.models import IngestReplayToken
from seevee_shared.db import Database


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
            await session.exec(delete(IngestReplayToken).where(col(IngestReplayToken.expires_at) <= now))
            known = await session.get(IngestReplayToken, token)
            if known is not None:
                return known.fingerprint == fingerprint
            session.add(IngestReplayToken(token=token, fingerprint=fingerprint, expires_at=expires_at))
        return True
