"""Every field a provider or a bounce email puts into an event stays within its documented bound."""

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounce_ingest.record_bounces import (
    ID_BOUNDS,
    TEXT_BOUNDS,
    TRUNCATED,
    FieldOutOfBounds,
    bounded,
    bounded_request,
    truncate,
)
from bounce_ingest.records import ParsedRequest, ProviderRecord

RECORD = ProviderRecord(
    kind="bounce",
    provider="dsn",
    provider_event_id="dsn-1@mx.acme.test",
    recipient="jane@acme.test",
    occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
    diagnostic="550 5.1.1 user unknown",
    remote_mta="mx.acme.test",
)


def test_descriptive_text_is_truncated_with_a_marker() -> None:
    huge = dataclasses.replace(RECORD, diagnostic="550 " + "x" * 1_200_000, remote_mta="m" * 1_200_000)
    cut = bounded(huge)
    assert cut.diagnostic is not None and cut.remote_mta is not None
    assert len(cut.diagnostic) == TEXT_BOUNDS["diagnostic"] and cut.diagnostic.endswith(TRUNCATED)
    assert cut.diagnostic.startswith("550 xxx")
    assert len(cut.remote_mta) == TEXT_BOUNDS["remote_mta"] and cut.remote_mta.endswith(TRUNCATED)
    assert bounded(RECORD) is RECORD, "a record within bounds is left as it is"


@pytest.mark.parametrize("field", sorted(ID_BOUNDS))
def test_an_id_that_cannot_be_truncated_is_refused(field: str) -> None:
    too_long = dataclasses.replace(RECORD, **{field: "i" * (ID_BOUNDS[field] + 1)})
    with pytest.raises(FieldOutOfBounds, match=field):
        bounded(too_long)
    with pytest.raises(FieldOutOfBounds, match="control"):
        bounded(dataclasses.replace(RECORD, **{field: "id\x1efolded"}))
    bounded(dataclasses.replace(RECORD, **{field: "i" * ID_BOUNDS[field]}))


def test_one_record_out_of_bounds_refuses_the_delivery() -> None:
    bad = dataclasses.replace(RECORD, provider_event_id="e" * 5000)
    with pytest.raises(FieldOutOfBounds):
        bounded_request(ParsedRequest([RECORD, bad], ignored={"open": 2}))
    assert bounded_request(ParsedRequest([RECORD], {"open": 2})).ignored == {"open": 2}


@given(st.text(max_size=3000), st.integers(min_value=len(TRUNCATED) + 1, max_value=2500))
def test_truncation_never_exceeds_its_limit_and_keeps_short_text(text: str, limit: int) -> None:
    cut = truncate(text, limit)
    assert len(cut) <= limit
    assert cut == text if len(text) <= limit else cut.endswith(TRUNCATED)
