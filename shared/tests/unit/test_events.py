from datetime import UTC, datetime
from typing import Any

import pytest

from seevee_shared.cloudevents import CloudEvent, InvalidEvent, decode, encode
from seevee_shared.events import EVENT_MODELS, MessageBounced, MessageSent, Topic, bounce_id_for

SENT = MessageSent(
    message_id="m-1",
    thread_id="t-1",
    contact_id="c-1",
    recipient="jane@acme.com",
    sender_mailbox="sam@seevee.test",
    provider="sendgrid",
    smtp_message_id="<m-1@seevee.test>",
    sent_at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
)


def test_every_topic_has_a_model_named_by_it() -> None:
    assert set(EVENT_MODELS) == {topic.value for topic in Topic}


def test_cloudevent_envelope_follows_the_contract() -> None:
    event = CloudEvent.build(SENT, source="/seevee/sender", workspace_id="ws-1", subject="c-1")
    assert event.type == "message.sent"
    assert event.dataschema == "urn:seevee:message.sent:1"
    assert event.specversion == "1.0"
    assert event.key == b"c-1"
    again = decode(encode(event))
    assert again == event
    assert again.data_as(MessageSent) == SENT


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b'{"specversion": "1.0"}', None, b'{"specversion":"0.3","id":"x"}'],
)
def test_decode_rejects_what_is_not_a_cloudevent(raw: bytes | None) -> None:
    with pytest.raises(InvalidEvent):
        decode(raw)


def test_unknown_fields_are_ignored_by_consumers() -> None:
    event = CloudEvent.build(SENT, source="/seevee/sender", workspace_id="ws-1", subject="c-1")
    event.data["something_new"] = 1
    assert decode(encode(event)).data_as(MessageSent) == SENT


def test_payload_mismatch_is_an_invalid_event() -> None:
    event = CloudEvent.build(SENT, source="/seevee/sender", workspace_id="ws-1", subject="c-1")
    with pytest.raises(InvalidEvent):
        event.data_as(MessageBounced)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        MessageSent.model_validate({**SENT.model_dump(), "sent_at": "2026-11-01T09:00:00"})


@pytest.mark.parametrize(
    "envelope",
    [
        {"time": datetime(2026, 11, 1, 9, 0)},  # naive on purpose
        {"subject": ""},
        {"workspace_id": ""},
        {"source": ""},
    ],
)
def test_an_event_is_never_built_with_a_naive_time_or_an_empty_attribute(envelope: dict[str, Any]) -> None:
    """The envelope's rules hold for the events we build as for those we decode."""
    with pytest.raises(ValueError, match=r"timezone|empty"):
        CloudEvent.build(
            SENT, **{"source": "/seevee/sender", "workspace_id": "ws-1", "subject": "c-1", **envelope}
        )


def test_a_built_event_is_what_validating_it_gives() -> None:
    event = CloudEvent.build(SENT, source="/seevee/sender", workspace_id="ws-1", subject="c-1")
    assert CloudEvent.model_validate(event.model_dump()) == event
    assert encode(CloudEvent.model_validate_json(encode(event))) == encode(event)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (("sendgrid", "ev-1", "Jane@Acme.com"), ("sendgrid", "ev-1", "jane@acme.com"), True),
        (("sendgrid", "ev-1", "jane@acme.com"), ("sendgrid", "ev-2", "jane@acme.com"), False),
        (("sendgrid", "ev-1", "jane@acme.com"), ("mailgun", "ev-1", "jane@acme.com"), False),
        (("sendgrid", "ev-1", "jane@acme.com"), ("sendgrid", "ev-1", "john@acme.com"), False),
    ],
)
def test_bounce_id_is_stable_per_provider_event_and_recipient(
    a: tuple[str, str, str], b: tuple[str, str, str], same: bool
) -> None:
    assert (bounce_id_for(*a) == bounce_id_for(*b)) is same
