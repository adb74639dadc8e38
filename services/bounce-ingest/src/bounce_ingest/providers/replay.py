"""Signature tokens already used: Mailgun signs only timestamp + token, not the body, so a token is one-use.

A token may come back with the very same body (the provider's own retry, which dedupe makes harmless);
it may not come back carrying a different body, which is what a captured signature glued onto a forged
event looks like.
"""

from collections import OrderedDict
from datetime import datetime
from typing import Protocol


class ReplayGuard(Protocol):
    """Remembers tokens until they expire; the store implements it for several processes."""

    async def admit(self, token: str, fingerprint: str, expires_at: datetime, now: datetime) -> bool:
        """Record the token; False when it was already seen with another fingerprint and has not expired."""
        ...


class MemoryReplayGuard:
    """Least-recently-used tokens with a time to live, for one process and for tests."""

    def __init__(self, max_tokens: int = 100_000) -> None:
        if max_tokens < 1:
            raise ValueError("max_tokens must be positive")
        self._max_tokens = max_tokens
        self._tokens: OrderedDict[str, tuple[str, datetime]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tokens)

    async def admit(self, token: str, fingerprint: str, expires_at: datetime, now: datetime) -> bool:
        known = self._tokens.get(token)
        if known is not None and known[1] > now and known[0] != fingerprint:
            return False
        if known is None or known[1] <= now:
            self._tokens[token] = (fingerprint, expires_at)
        self._tokens.move_to_end(token)
        self._forget_expired(now)
        while len(self._tokens) > self._max_tokens:
            self._tokens.popitem(last=False)
        return True

    def _forget_expired(self, now: datetime) -> None:
        """Drop expired tokens from the least recently used end; the rest go when they reach it."""
        while self._tokens:
            oldest, (_, expires_at) = next(iter(self._tokens.items()))
            if expires_at > now:
                return
            del self._tokens[oldest]
