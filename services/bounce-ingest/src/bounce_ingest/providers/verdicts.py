"""How a provider's own classification and the SMTP evidence combine into one verdict.

A provider's precise classification (``Invalid Address``, bounce class 10) decides the category, and a
status or text naming a more specific reason of that category refines it. A coarse one ("a hard
bounce", "blocked") only speaks when the status code and diagnostic text say nothing, and never makes
a 4xx answer permanent. Also here: the rules every provider shares about what is not a bounce at all.
"""

import re
from datetime import datetime
from typing import Any

from bounce_ingest.classification import Verdict, classify
from bounce_ingest.providers.fields import enhanced_status
from bounce_ingest.records import ProviderRecord

NO_EVIDENCE = frozenset({"undefined", "onhold"})
"""What ``classify`` answers when neither status nor text names a reason."""


def decided(reason: str, status: str | None, code: int | None) -> Verdict:
    """The provider named the reason; the status class still tells a 4xx ``notaccept`` from a 5xx one."""
    return classify(status, code, None, hint=reason)


def refined(reason: str, status: str | None, code: int | None, diagnostic: str | None) -> Verdict:
    """A precise provider label, sharpened by evidence of the same category.

    ``Invalid Address`` with ``5.1.2 Host unknown`` is a ``hostunknown``; with a text that reads like a
    spam filter it stays the ``userunknown`` the provider determined.
    """
    labelled = classify(status, code, None, hint=reason)
    evidence = classify(status, code, diagnostic)
    if (
        evidence.reason not in NO_EVIDENCE
        and evidence.category == labelled.category
        and _specific(evidence, status, diagnostic)
    ):
        return evidence
    return labelled


SPECIFIC_LAYERS = frozenset({"phrase", "command"})
"""Evidence that names a reason in words; a status code counts only when more specific than a label."""
GENERIC_DETAILS = frozenset({"0"})
GENERIC_STATUSES = frozenset({"7.1"})
"""X.Y.0 says only the subject, and X.7.1 ("delivery not authorized") is policy's catch-all: neither is
more specific than a provider's own label."""


def _specific(evidence: Verdict, status: str | None, diagnostic: str | None) -> bool:
    """Whether the evidence names its reason more specifically than a provider's label does."""
    if evidence.decided_by in SPECIFIC_LAYERS:
        return True
    if evidence.decided_by != "status":
        return False
    parts = (status or enhanced_status(diagnostic) or "").strip().split(".")
    if len(parts) != 3:
        return False
    return parts[2] not in GENERIC_DETAILS and f"{parts[1]}.{parts[2]}" not in GENERIC_STATUSES


def inferred(
    status: str | None, code: int | None, diagnostic: str | None, fallback: str | None = None
) -> Verdict:
    """Status and text decide; ``fallback`` is the provider's coarse class, used only without evidence.

    A coarse "hard bounce" never turns a 4xx status into a permanent verdict.
    """
    verdict = classify(status, code, diagnostic)
    if fallback is None or verdict.reason not in NO_EVIDENCE:
        return verdict
    hinted = classify(status, code, None, hint=fallback)
    if hinted.permanent and transient_answer(status, code):
        return verdict
    return hinted


def transient_answer(status: str | None, code: int | None) -> bool:
    """Whether the SMTP answer itself is a 4xx (a temporary failure, whatever the provider calls it)."""
    if code is not None:
        return 400 <= code < 500
    return bool(status) and str(status).strip().startswith("4.")


NOT_FINAL_ACTIONS = frozenset({"delayed", "delivered", "relayed", "expanded"})
"""RFC 3464 ``Action`` values of a recipient that has not failed (``failed``, or none, is a bounce)."""


def not_final(action: str | None) -> bool:
    """A recipient reported ``delayed`` (or ``delivered``, ``relayed``, ``expanded``) has not bounced."""
    return (action or "").strip().lower() in NOT_FINAL_ACTIONS


_UNSUBSCRIBE = re.compile(r"unsubscri|\bopt(?:ed)?[- ]?out\b", re.IGNORECASE)
UNSUBSCRIBE = "unsubscribe"
"""The ``feedback_type`` of a drop because the recipient unsubscribed (ARCHITECTURE 4)."""


def mentions_unsubscribe(text: str | None) -> bool:
    """Whether a provider's drop or suppression reason says the recipient unsubscribed."""
    return bool(text) and bool(_UNSUBSCRIBE.search(text or ""))


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


def unsubscribe_record(
    provider: str, provider_event_id: str, recipient: str, occurred_at: datetime, **fields: Any
) -> ProviderRecord:
    """A drop because the recipient unsubscribed: published as ``message.complained``, never a bounce."""
    return complaint_record(
        provider, provider_event_id, recipient, occurred_at, feedback_type=UNSUBSCRIBE, **fields
    )
