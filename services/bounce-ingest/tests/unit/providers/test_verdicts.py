"""The rules every provider shares: how a label and the evidence combine, and what is not a bounce."""

import json

import pytest
from prometheus_client import REGISTRY

from bounce_ingest.providers import PROVIDERS, sendgrid
from bounce_ingest.providers.base import BadPayload, Headers, WebhookRequest
from bounce_ingest.providers.event_counts import count_ignored
from bounce_ingest.providers.verdicts import inferred, mentions_unsubscribe, not_final, refined


@pytest.mark.parametrize(
    ("label", "status", "code", "diagnostic", "reason"),
    [
        ("userunknown", "5.1.2", 550, "550 5.1.2 Host unknown", "hostunknown"),
        ("userunknown", "5.1.1", 550, "550 5.1.1 user unknown", "userunknown"),
        # Another category in the text never overrides the label: the provider decided the category.
        ("userunknown", "5.7.1", 550, "550 5.7.1 Message rejected as spam", "userunknown"),
        # A broad 5.7.1 is no more specific than the provider's "content".
        ("contenterror", "5.7.1", 554, "554 5.7.1 Message rejected", "contenterror"),
        ("systemerror", "5.2.2", 552, "552 5.2.2 Mailbox full", "mailboxfull"),
        ("mailboxfull", None, None, None, "mailboxfull"),
    ],
)
def test_a_precise_label_is_refined_within_its_category(label, status, code, diagnostic, reason) -> None:
    assert refined(label, status, code, diagnostic).reason == reason


@pytest.mark.parametrize(
    ("status", "code", "diagnostic", "fallback", "category", "reason"),
    [
        ("5.2.2", 552, "552 5.2.2 Mailbox full", "blocked", "temporary", "mailboxfull"),
        ("5.7.13", 550, "550 5.7.13 User account disabled", "blocked", "mailbox_unknown", "suspend"),
        (None, None, None, "blocked", "spam_policy", "blocked"),
        (None, None, None, "userunknown", "mailbox_unknown", "userunknown"),
        # A coarse "hard bounce" never makes a 4xx answer permanent.
        ("4.0.0", None, None, "userunknown", "temporary", None),
        (None, 451, None, "userunknown", "temporary", None),
    ],
)
def test_a_coarse_label_speaks_only_without_evidence(
    status, code, diagnostic, fallback, category, reason
) -> None:
    verdict = inferred(status, code, diagnostic, fallback=fallback)
    assert verdict.category == category
    if reason:
        assert verdict.reason == reason


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("delayed", True),
        ("Delivered", True),
        ("relayed", True),
        ("expanded", True),
        ("failed", False),
        (None, False),
        ("", False),
    ],
)
def test_only_rfc3464_actions_that_did_not_fail_are_not_final(action, expected) -> None:
    assert not_final(action) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Unsubscribed Address", True),
        ("blocked : contact unsubscribed", True),
        ("Not delivering to unsubscribed address", True),
        ("the recipient opted out", True),
        ("opt-out list", True),
        ("Bounced Address", False),
        ("blocked : due to blacklist user", False),
        (None, False),
    ],
)
def test_unsubscribe_wording(text, expected) -> None:
    assert mentions_unsubscribe(text) is expected


def request(events: object) -> WebhookRequest:
    return WebhookRequest("POST", "https://x/hook", Headers({}), json.dumps(events).encode())


def test_one_unreadable_event_does_not_cost_the_batch() -> None:
    good = {
        "email": "a@x.com",
        "timestamp": 1700000000,
        "event": "bounce",
        "sg_event_id": "b1",
        "status": "5.1.1",
        "reason": "550 5.1.1 user unknown",
        "type": "bounce",
    }
    parsed = sendgrid.parse(request([good, {"event": "bounce"}, 7, {"no": "event"}, {"event": "mystery"}]))
    assert [record.provider_event_id for record in parsed.records] == ["b1"]
    assert parsed.ignored == {"bounce/unreadable": 1, "unreadable": 2, "mystery": 1}
    with pytest.raises(BadPayload):
        sendgrid.parse(request([{"event": "bounce"}, 7]))


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_ignored_and_unknown_event_types_are_counted() -> None:
    labels = {"provider": "sendgrid", "type": "brand_new_event"}
    known = {"provider": "sendgrid", "type": "delivered"}
    before = (
        _sample("bounce_ingest_webhook_events_unknown_total", labels),
        _sample("bounce_ingest_webhook_events_ignored_total", known),
        _sample("bounce_ingest_webhook_events_unknown_total", known),
    )
    count_ignored("sendgrid", PROVIDERS["sendgrid"].events, {"brand_new_event": 2, "delivered": 3})
    assert _sample("bounce_ingest_webhook_events_unknown_total", labels) == before[0] + 2
    assert _sample("bounce_ingest_webhook_events_ignored_total", known) == before[1] + 3
    assert _sample("bounce_ingest_webhook_events_unknown_total", known) == before[2]


def test_every_provider_lists_its_documented_events() -> None:
    assert all(provider.events for provider in PROVIDERS.values())
