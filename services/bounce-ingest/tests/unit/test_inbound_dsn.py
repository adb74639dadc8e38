"""A classified bounce email becomes records keyed by its own Message-ID, whatever its headers hold."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bounce_ingest.dsn.model import Classification, DsnBounce
from bounce_ingest.inbound_dsn import records_from_dsn

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
BOUNCE = Classification(
    kind="bounce",
    bounces=[
        DsnBounce(
            recipient="jane@acme.com", category="mailbox_unknown", reason="userunknown", permanent=True
        ),
        DsnBounce(recipient="john@acme.com", category="temporary", reason="mailboxfull", permanent=False),
    ],
    original_message_id="<m-1@seevee.test>",
)
RAW = b"Message-ID: <dsn-7@mx.acme.com>\r\nDate: Thu, 26 Nov 2026 10:00:00 +0000\r\n\r\nbody"


def test_each_failed_recipient_is_a_record_of_the_email() -> None:
    records = records_from_dsn(BOUNCE, RAW, NOW)
    assert [(r.recipient, r.category, r.provider, r.provider_event_id) for r in records] == [
        ("jane@acme.com", "mailbox_unknown", "dsn", "dsn-7@mx.acme.com"),
        ("john@acme.com", "temporary", "dsn", "dsn-7@mx.acme.com"),
    ]
    assert {r.smtp_message_id for r in records} == {"<m-1@seevee.test>"}
    assert {r.occurred_at for r in records} == {datetime(2026, 11, 26, 10, 0, tzinfo=UTC)}


def test_a_complaint_names_its_recipients() -> None:
    complaint = Classification(kind="complaint", recipients=["jane@acme.com"], feedback_type="abuse")
    [record] = records_from_dsn(complaint, RAW, NOW)
    assert (record.kind, record.recipient, record.feedback_type) == ("complaint", "jane@acme.com", "abuse")


def test_what_is_not_a_bounce_stores_nothing() -> None:
    for kind in ("auto_reply", "delayed", "delivered", "not_a_bounce"):
        assert records_from_dsn(Classification(kind=kind), RAW, NOW) == []  # type: ignore[arg-type]


def test_without_headers_the_email_digest_and_arrival_time_stand_in() -> None:
    [first, _] = records_from_dsn(BOUNCE, b"no headers at all", NOW)
    assert first.provider_event_id.startswith("sha256:")
    assert first.occurred_at == NOW


@given(st.binary(max_size=400))
def test_any_bytes_yield_records_with_an_event_id(raw: bytes) -> None:
    records = records_from_dsn(BOUNCE, raw, NOW)
    assert len(records) == 2
    assert all(record.provider_event_id and record.occurred_at.tzinfo for record in records)
