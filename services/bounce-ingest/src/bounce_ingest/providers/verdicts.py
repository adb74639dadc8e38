"""How a provider's own classification and the SMTP evidence combine into one verdict.

A provider's precise classification (``Invalid Address``, bounce class 10) is taken as the reason. A
coarse one ("a hard bounce", "blocked") only speaks when the status code and diagnostic text say nothing.
"""

from datetime import datetime
from typing import Any

from bounce_ingest.classification import Verdict, classify
from bounce_ingest.records import ProviderRecord

NO_EVIDENCE = frozenset({"undefined", "onhold"})
"""What ``classify`` answers when neither status nor text names a reason."""


def decided(reason: str, status: str | None, code: int | None) -> Verdict:
    """The provider named the reason; the status class still tells a 4xx ``notaccept`` from a 5xx one."""
    return classify(status, code, None, hint=reason)


def inferred(
    status: str | None, code: int | None, diagnostic: str | None, fallback: str | None = None
) -> Verdict:
    """Status and text decide; ``fallback`` is the provider's coarse class, used only without evidence."""
    verdict = classify(status, code, diagnostic)
    if fallback is not None and verdict.reason in NO_EVIDENCE:
        return classify(status, code, None, hint=fallback)
    return verdict


def bounce_record(
    provider: str,
    provider_event_id: str,
    recipient: str,
    occurred_at: datetime,
    verdict: Verdict,
    **fields: Any,
) -> ProviderRecord:
    """A bounce record carrying the verdict; ``fields`` are the optional ``ProviderRecord`` fields."""
    return ProviderRecord(
        kind="bounce",
        provider=provider,
        provider_event_id=provider_event_id,
        recipient=recipient.strip().lower(),
        occurred_at=occurred_at,
        category=verdict.category,
        reason=verdict.reason,
        permanent=verdict.permanent,
        **fields,
    )


def complaint_record(
    provider: str, provider_event_id: str, recipient: str, occurred_at: datetime, **fields: Any
) -> ProviderRecord:
    return ProviderRecord(
        kind="complaint",
        provider=provider,
        provider_event_id=provider_event_id,
        recipient=recipient.strip().lower(),
        occurred_at=occurred_at,
        **fields,
    )
