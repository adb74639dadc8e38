"""Thread rules: label merging, the latest message, and which bounce a message shows."""

from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

from thread_service.domain import (
    BOUNCED,
    COMPLAINED,
    BounceDetail,
    MessageStamp,
    is_newer,
    latest_message,
    merge_labels,
    ordered_labels,
    prevailing_bounce,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def bounce(bounce_id: str, *, permanent: bool, minutes: int, category: str = "temporary") -> BounceDetail:
    return BounceDetail(
        bounce_id=bounce_id,
        category=category,
        reason="userunknown" if permanent else "mailboxfull",
        permanent=permanent,
        bounced_at=T0 + timedelta(minutes=minutes),
    )


HARD_EARLY = bounce("b-hard-early", permanent=True, minutes=1, category="mailbox_unknown")
HARD_LATE = bounce("b-hard-late", permanent=True, minutes=5, category="mailbox_unknown")
SOFT_EARLY = bounce("b-soft-early", permanent=False, minutes=0)
SOFT_LATE = bounce("b-soft-late", permanent=False, minutes=9)
SOFT_LATE_TWIN = bounce("b-soft-late-twin", permanent=False, minutes=9)


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        (None, SOFT_EARLY, SOFT_EARLY),
        (None, HARD_EARLY, HARD_EARLY),
        (SOFT_EARLY, HARD_EARLY, HARD_EARLY),
        (HARD_EARLY, SOFT_LATE, HARD_EARLY),
        (SOFT_LATE, HARD_EARLY, HARD_EARLY),
        (HARD_EARLY, HARD_LATE, HARD_LATE),
        (HARD_LATE, HARD_EARLY, HARD_LATE),
        (SOFT_EARLY, SOFT_LATE, SOFT_LATE),
        (SOFT_LATE, SOFT_EARLY, SOFT_LATE),
        (SOFT_LATE, SOFT_LATE_TWIN, SOFT_LATE_TWIN),
        (SOFT_LATE_TWIN, SOFT_LATE, SOFT_LATE_TWIN),
        (HARD_LATE, HARD_LATE, HARD_LATE),
    ],
    ids=[
        "first-soft",
        "first-hard",
        "hard-beats-earlier-soft",
        "hard-beats-later-soft",
        "hard-beats-later-soft-arriving-first",
        "later-hard-wins",
        "later-hard-kept",
        "later-soft-wins",
        "later-soft-kept",
        "tie-broken-by-id",
        "tie-broken-by-id-either-order",
        "same-bounce-again",
    ],
)
def test_which_bounce_a_message_shows(
    current: BounceDetail | None, incoming: BounceDetail, expected: BounceDetail
) -> None:
    assert prevailing_bounce(current, incoming) == expected


def test_the_bounce_shown_does_not_depend_on_arrival_order() -> None:
    bounces = [SOFT_EARLY, HARD_EARLY, SOFT_LATE, HARD_LATE]
    outcomes = set()
    for order in permutations(bounces):
        shown: BounceDetail | None = None
        for incoming in order:
            shown = prevailing_bounce(shown, incoming)
        outcomes.add(shown)
    assert outcomes == {HARD_LATE}


@pytest.mark.parametrize(
    ("existing", "label", "labels", "added"),
    [
        ((), BOUNCED, (BOUNCED,), True),
        ((BOUNCED,), BOUNCED, (BOUNCED,), False),
        ((BOUNCED,), COMPLAINED, (BOUNCED, COMPLAINED), True),
        ((COMPLAINED,), BOUNCED, (BOUNCED, COMPLAINED), True),
        ((COMPLAINED, BOUNCED), COMPLAINED, (BOUNCED, COMPLAINED), False),
        (("vip",), BOUNCED, (BOUNCED, "vip"), True),
    ],
    ids=["first", "again", "second-label", "order-is-stable", "complaint-again", "unknown-label-kept"],
)
def test_merge_labels(existing: tuple[str, ...], label: str, labels: tuple[str, ...], added: bool) -> None:
    assert merge_labels(existing, label) == (labels, added)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ([], ()),
        ([COMPLAINED, BOUNCED, COMPLAINED], (BOUNCED, COMPLAINED)),
        (["zeta", "alpha", BOUNCED], (BOUNCED, "alpha", "zeta")),
    ],
)
def test_ordered_labels(labels: list[str], expected: tuple[str, ...]) -> None:
    assert ordered_labels(labels) == expected


FIRST = MessageStamp("m-1", T0)
SECOND = MessageStamp("m-2", T0 + timedelta(days=3))
SECOND_SAME_TIME = MessageStamp("m-3", T0 + timedelta(days=3))


@pytest.mark.parametrize(
    ("candidate", "current", "newer"),
    [
        (FIRST, None, True),
        (SECOND, FIRST, True),
        (FIRST, SECOND, False),
        (SECOND, SECOND, False),
        (SECOND_SAME_TIME, SECOND, True),
        (SECOND, SECOND_SAME_TIME, False),
    ],
    ids=["empty-thread", "later-send", "older-send-arriving-late", "same", "tie-by-id", "tie-by-id-reverse"],
)
def test_is_newer(candidate: MessageStamp, current: MessageStamp | None, newer: bool) -> None:
    assert is_newer(candidate, current) is newer


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([], None),
        ([FIRST], FIRST),
        ([FIRST, SECOND], SECOND),
        ([SECOND, FIRST], SECOND),
        ([SECOND_SAME_TIME, FIRST, SECOND], SECOND_SAME_TIME),
    ],
    ids=["no-messages", "one", "in-order", "out-of-order", "tie"],
)
def test_latest_message(messages: list[MessageStamp], expected: MessageStamp | None) -> None:
    assert latest_message(messages) == expected
