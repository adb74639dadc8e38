"""Correlation chain, bounce id derivation, dedupe and the unmatched wait: pure rules, table-driven."""

from datetime import UTC, datetime, timedelta

import pytest

from bounce_ingest.domain import (
    Lookups,
    Match,
    SentMessageRef,
    correlate,
    dsn_event_id,
    normalize_message_id,
    provider_message_id_candidates,
    recipient_window,
    record_id,
    split_duplicates,
    unmatched_due,
)
from bounce_ingest.records import ProviderRecord
from seevee_shared.events import bounce_id_for


def _message(message_id: str) -> SentMessageRef:
    return SentMessageRef(
        message_id=message_id,
        workspace_id="ws-1",
        thread_id=f"thread-{message_id}",
        contact_id=f"contact-{message_id}",
        recipient="jane@acme.com",
    )


A, B, C, D, E = (_message(name) for name in "abcde")


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (Lookups(), None),
        (
            Lookups(by_message_id=A, by_provider_message_id=B, by_smtp_message_id=C, to_recipient=[D]),
            Match(A, "message_id"),
        ),
        (
            Lookups(by_provider_message_id=B, by_smtp_message_id=C, to_recipient=[D]),
            Match(B, "provider_message_id"),
        ),
        (Lookups(by_smtp_message_id=C, to_recipient=[D]), Match(C, "smtp_message_id")),
        (Lookups(to_recipient=[D]), Match(D, "recipient")),
        (Lookups(to_recipient=[D, D]), Match(D, "recipient")),
        (Lookups(to_recipient=[D, E]), None),
        (Lookups(to_recipient=[]), None),
    ],
    ids=[
        "nothing",
        "own-id-first",
        "provider-id",
        "dsn-message-id",
        "lone-recipient",
        "same-message-twice",
        "ambiguous-recipient",
        "no-recipient-history",
    ],
)
def test_correlation_chain(found: Lookups, expected: Match | None) -> None:
    assert correlate(found) == expected


def test_recipient_window_looks_back_fourteen_days_with_some_skew() -> None:
    bounced_at = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    start, end = recipient_window(bounced_at)
    assert start == bounced_at - timedelta(days=14)
    assert bounced_at < end <= bounced_at + timedelta(hours=1)


def _record(provider: str, event_id: str, recipient: str) -> ProviderRecord:
    return ProviderRecord(
        kind="bounce",
        provider=provider,
        provider_event_id=event_id,
        recipient=recipient,
        occurred_at=datetime(2026, 3, 15, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("left", "right", "same"),
    [
        (("sendgrid", "ev-1", "jane@acme.com"), ("sendgrid", "ev-1", "jane@acme.com"), True),
        (("sendgrid", "ev-1", "jane@acme.com"), ("sendgrid", "ev-1", " Jane@ACME.com "), True),
        (("sendgrid", "ev-1", "jane@acme.com"), ("sendgrid", "ev-2", "jane@acme.com"), False),
        (("sendgrid", "ev-1", "jane@acme.com"), ("mailgun", "ev-1", "jane@acme.com"), False),
        (("sendgrid", "ev-1", "jane@acme.com"), ("sendgrid", "ev-1", "john@acme.com"), False),
    ],
)
def test_bounce_id_derivation(left: tuple[str, str, str], right: tuple[str, str, str], same: bool) -> None:
    assert (record_id(_record(*left)) == record_id(_record(*right))) is same


def test_bounce_id_is_the_shared_uuid5() -> None:
    assert record_id(_record("dsn", "abc@mx", "jane@acme.com")) == bounce_id_for(
        "dsn", "abc@mx", "jane@acme.com"
    )


@pytest.mark.parametrize(
    ("ids", "stored", "new", "duplicates"),
    [
        (["a", "b"], set(), ["a", "b"], []),
        (["a", "b"], {"a"}, ["b"], ["a"]),
        (["a", "a", "b"], set(), ["a", "b"], ["a"]),
        (["a", "b"], {"a", "b"}, [], ["a", "b"]),
        ([], {"a"}, [], []),
    ],
    ids=["all-new", "one-stored", "repeated-in-batch", "replayed-delivery", "empty"],
)
def test_dedupe_decision(ids: list[str], stored: set[str], new: list[str], duplicates: list[str]) -> None:
    assert split_duplicates(ids, stored) == (new, duplicates)


@pytest.mark.parametrize(
    ("age", "due"),
    [
        (timedelta(0), False),
        (timedelta(seconds=899), False),
        (timedelta(seconds=900), True),
        (timedelta(hours=2), True),
    ],
)
def test_unmatched_wait(age: timedelta, due: bool) -> None:
    now = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
    assert unmatched_due(now - age, now, timedelta(seconds=900)) is due


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("<>", None),
        ("<abc@mx.acme.com>", "abc@mx.acme.com"),
        (" abc@mx.acme.com ", "abc@mx.acme.com"),
    ],
)
def test_message_id_normalization(value: str | None, expected: str | None) -> None:
    assert normalize_message_id(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, []),
        ("<20260315.abc@mailgun.example>", ["20260315.abc@mailgun.example"]),
        (
            "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            ["14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "14c5d75ce93.dfd.64b469"],
        ),
    ],
)
def test_provider_message_id_candidates(value: str | None, expected: list[str]) -> None:
    assert provider_message_id_candidates(value) == expected


def test_dsn_event_id_prefers_the_message_id_and_falls_back_to_a_digest() -> None:
    assert dsn_event_id("<dsn-1@mx.acme.com>", b"raw") == "dsn-1@mx.acme.com"
    digest = dsn_event_id(None, b"raw")
    assert digest.startswith("sha256:")
    assert digest == dsn_event_id("  ", b"raw")
    assert digest != dsn_event_id(None, b"other raw")


OTHER = SentMessageRef(
    message_id="z",
    workspace_id="ws-2",
    thread_id="thread-z",
    contact_id="contact-z",
    recipient="jane@acme.com",
)


@pytest.mark.parametrize(
    ("found", "scope", "expected"),
    [
        (Lookups(by_message_id=A), "ws-1", Match(A, "message_id")),
        (Lookups(by_message_id=OTHER), "ws-1", None),
        (Lookups(by_message_id=OTHER), None, Match(OTHER, "message_id")),
        (Lookups(by_message_id=OTHER, by_smtp_message_id=C), "ws-1", Match(C, "smtp_message_id")),
        (Lookups(to_recipient=[OTHER]), "ws-1", None),
        (Lookups(to_recipient=[A, OTHER]), "ws-1", None),
    ],
    ids=["own-workspace", "other-workspace", "unscoped", "falls-through", "lone-other", "ambiguous-across"],
)
def test_a_scoped_report_matches_only_its_workspace(
    found: Lookups, scope: str | None, expected: Match | None
) -> None:
    assert correlate(found, scope) == expected
