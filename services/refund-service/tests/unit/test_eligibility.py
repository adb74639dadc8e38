"""What one bounce makes of a reveal, and which of several assessments a refund keeps."""

from datetime import UTC, datetime, timedelta

import pytest

from refund_service.domain.eligibility import (
    Assessment,
    Basis,
    Bounce,
    Reveal,
    Status,
    assess,
    is_dead_domain,
    is_within_window,
    merge,
    needs_dns_check,
)

REVEALED_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
REVEAL = Reveal("john.smith@acme.com", "John", "Smith", REVEALED_AT)
GUESSED = Reveal("jane.doe@acme.com", "John", "Smith", REVEALED_AT)


def bounce(category: str, reason: str, days_after: float = 2) -> Bounce:
    return Bounce("john.smith@acme.com", category, reason, REVEALED_AT + timedelta(days=days_after))


@pytest.mark.parametrize(
    ("reason", "has_mail_host", "dead"),
    [
        ("hostunknown", True, True),
        ("notaccept", None, True),
        ("userunknown", False, True),
        ("userunknown", True, False),
        ("userunknown", None, False),
        ("suspend", None, False),
    ],
)
def test_dead_domain(reason: str, has_mail_host: bool | None, dead: bool) -> None:
    assert is_dead_domain(reason, has_mail_host) is dead


@pytest.mark.parametrize(
    ("days_after", "within"),
    [(0, True), (29.9, True), (30, True), (30.001, False), (45, False), (-1, True)],
)
def test_window(days_after: float, within: bool) -> None:
    assert is_within_window(REVEALED_AT, REVEALED_AT + timedelta(days=days_after), 30) is within


CASES: list[tuple[Reveal, Bounce, bool | None, Status, Basis]] = [
    # reveal, bounce, DNS has a mail host?, expected status, expected basis
    (REVEAL, bounce("mailbox_unknown", "hostunknown"), None, "eligible", "dead_domain"),
    (REVEAL, bounce("mailbox_unknown", "notaccept"), True, "eligible", "dead_domain"),
    (REVEAL, bounce("mailbox_unknown", "userunknown"), False, "eligible", "dead_domain"),
    (GUESSED, bounce("mailbox_unknown", "userunknown"), True, "eligible", "name_mismatch"),
    (GUESSED, bounce("mailbox_unknown", "userunknown"), None, "eligible", "name_mismatch"),
    (GUESSED, bounce("mailbox_unknown", "hostunknown"), None, "eligible", "dead_domain"),
    (REVEAL, bounce("mailbox_unknown", "userunknown"), True, "needs_review", "mailbox_unknown"),
    (REVEAL, bounce("mailbox_unknown", "userunknown"), None, "needs_review", "mailbox_unknown"),
    (REVEAL, bounce("mailbox_unknown", "suspend"), True, "needs_review", "mailbox_unknown"),
    (Reveal("x@acme.com", "", "", REVEALED_AT), bounce("mailbox_unknown", "userunknown"), True,
     "needs_review", "mailbox_unknown"),
    (REVEAL, bounce("temporary", "mailboxfull"), False, "ineligible", "temporary"),
    (GUESSED, bounce("spam_policy", "blocked"), False, "ineligible", "spam_policy"),
    (REVEAL, bounce("mailbox_unknown", "hostunknown", days_after=31), False, "ineligible", "outside_window"),
    (GUESSED, bounce("temporary", "mailboxfull", days_after=40), None, "ineligible", "outside_window"),
]  # fmt: skip


@pytest.mark.parametrize(("reveal", "the_bounce", "has_mail_host", "status", "basis"), CASES)
def test_assess(
    reveal: Reveal, the_bounce: Bounce, has_mail_host: bool | None, status: Status, basis: Basis
) -> None:
    assessment = assess(reveal, the_bounce, has_mail_host, window_days=30)
    assert (assessment.status, assessment.basis) == (status, basis)
    assert assessment.explanation


def test_explanations_say_why() -> None:
    assert "acme.com" in assess(REVEAL, bounce("mailbox_unknown", "hostunknown"), None, 30).explanation
    assert "jane.doe" in assess(GUESSED, bounce("mailbox_unknown", "userunknown"), True, 30).explanation
    assert "30 days" in assess(REVEAL, bounce("temporary", "expired", 31), None, 30).explanation


@pytest.mark.parametrize(
    ("the_bounce", "needed"),
    [
        (bounce("mailbox_unknown", "userunknown"), True),
        (bounce("mailbox_unknown", "hostunknown"), False),
        (bounce("mailbox_unknown", "userunknown", days_after=31), False),
        (bounce("temporary", "mailboxfull"), False),
        (bounce("spam_policy", "blocked"), False),
    ],
)
def test_dns_check_only_when_it_can_matter(the_bounce: Bounce, needed: bool) -> None:
    assert needs_dns_check(REVEAL, the_bounce, 30) is needed


def candidate(basis: Basis) -> Assessment:
    status: dict[Basis, Status] = {
        "dead_domain": "eligible",
        "name_mismatch": "eligible",
        "mailbox_unknown": "needs_review",
        "outside_window": "ineligible",
        "spam_policy": "ineligible",
        "temporary": "ineligible",
    }
    return Assessment(status[basis], basis, "why")


MERGES: list[tuple[Status | None, Basis | None, Basis, Basis | None]] = [
    # current status, current basis, candidate basis, basis after (None = unchanged)
    (None, None, "temporary", "temporary"),
    ("ineligible", "temporary", "spam_policy", "spam_policy"),
    ("ineligible", "spam_policy", "temporary", None),
    ("ineligible", "spam_policy", "outside_window", "outside_window"),
    ("ineligible", "outside_window", "mailbox_unknown", "mailbox_unknown"),
    ("needs_review", "mailbox_unknown", "name_mismatch", "name_mismatch"),
    ("needs_review", "mailbox_unknown", "temporary", None),
    ("eligible", "name_mismatch", "dead_domain", "dead_domain"),
    ("eligible", "dead_domain", "name_mismatch", None),
    ("eligible", "dead_domain", "dead_domain", None),
    ("eligible", "name_mismatch", "mailbox_unknown", None),
    ("requested", "mailbox_unknown", "dead_domain", None),
    ("approved", "temporary", "dead_domain", None),
    ("denied", "mailbox_unknown", "dead_domain", None),
]


@pytest.mark.parametrize(("status", "basis", "new_basis", "after"), MERGES)
def test_strongest_basis_kept(
    status: Status | None, basis: Basis | None, new_basis: Basis, after: Basis | None
) -> None:
    merged = merge(status, basis, candidate(new_basis))
    assert (merged.basis if merged else None) == after
