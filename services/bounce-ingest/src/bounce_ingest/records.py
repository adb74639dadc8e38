"""The normalized shape every provider parser and the DSN parser hand to the ingest handler."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

RecordKind = Literal["bounce", "complaint"]


@dataclass(frozen=True, slots=True)
class ProviderRecord:
    """One bounce or complaint for one recipient, as a provider (or a DSN) reported it.

    ``provider_event_id`` is the provider's stable id for the event (what a retry repeats), so the
    bounce id derived from it dedupes retries; ``seevee_message_id`` is our id echoed back, if any.
    """

    kind: RecordKind
    provider: str
    provider_event_id: str
    recipient: str
    occurred_at: datetime
    category: Literal["mailbox_unknown", "temporary", "spam_policy"] | None = None
    reason: str | None = None
    permanent: bool = False
    seevee_message_id: str | None = None
    provider_message_id: str | None = None
    smtp_message_id: str | None = None
    smtp_code: int | None = None
    smtp_status: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    feedback_type: str | None = None
    raw_type: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """What one webhook request held: the records to store, and how many other events were only counted."""

    records: list[ProviderRecord]
    ignored: dict[str, int] = field(default_factory=dict)
