"""A raw bounce email, once classified, as the same records a provider webhook yields (provider ``dsn``)."""

from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime

from bounce_ingest.domain import as_utc, dsn_event_id
from bounce_ingest.dsn.model import Classification
from bounce_ingest.records import ProviderRecord

PROVIDER = "dsn"


@dataclass(frozen=True, slots=True)
class EmailHeaders:
    """The email's own Message-ID and Date (not the bounced message's)."""

    message_id: str | None = None
    dated: datetime | None = None


def email_headers(raw: bytes) -> EmailHeaders:
    """The email's own Message-ID and Date, read leniently: a broken header is simply absent.

    Reading a large header block costs seconds, so the service calls this in a parser process.
    """
    try:
        headers = BytesHeaderParser().parsebytes(raw)
        message_id = headers.get("Message-ID")
        date = headers.get("Date")
    except (ValueError, TypeError, LookupError):
        return EmailHeaders()
    when: datetime | None = None
    if date:
        try:
            when = as_utc(parsedate_to_datetime(str(date)))
        except (ValueError, TypeError, IndexError, OverflowError):
            when = None
    return EmailHeaders(_unfolded(message_id), when)


def _unfolded(value: object) -> str | None:
    """A header value on one line (RFC 5322 unfolding: the line breaks go, the blanks stay)."""
    if not value:
        return None
    return str(value).replace("\r\n", "").replace("\n", "").replace("\r", "")


def records_from_dsn(
    classification: Classification,
    raw: bytes,
    received_at: datetime,
    headers: EmailHeaders | None = None,
) -> list[ProviderRecord]:
    """Bounces and complaints to store; the event id is the email's Message-ID (or its digest)."""
    own = headers if headers is not None else email_headers(raw)
    event_id = dsn_event_id(own.message_id, raw)
    occurred_at = own.dated or received_at
    if classification.kind == "bounce":
        return [
            ProviderRecord(
                kind="bounce",
                provider=PROVIDER,
                provider_event_id=event_id,
                recipient=bounce.recipient,
                occurred_at=occurred_at,
                category=bounce.category,
                reason=bounce.reason,
                permanent=bounce.permanent,
                seevee_message_id=classification.seevee_message_id,
                smtp_message_id=classification.original_message_id,
                smtp_code=bounce.smtp_code,
                smtp_status=bounce.smtp_status,
                diagnostic=bounce.diagnostic,
                remote_mta=bounce.remote_mta,
            )
            for bounce in classification.bounces
        ]
    if classification.kind == "complaint":
        return [
            ProviderRecord(
                kind="complaint",
                provider=PROVIDER,
                provider_event_id=event_id,
                recipient=recipient,
                occurred_at=occurred_at,
                seevee_message_id=classification.seevee_message_id,
                smtp_message_id=classification.original_message_id,
                feedback_type=classification.feedback_type,
            )
            for recipient in classification.recipients
        ]
    return []
