"""The parser against the labelled development set, with the targets it must meet.

Agreement is measured on final bounces: the key labels delay warnings as ``expired`` bounces, which
ARCHITECTURE section 4 says are not bounces (see ``bounce_ingest.dsn.evaluate``).
"""

import pytest

from bounce_ingest.dsn.evaluate import Score, evaluate
from seevee_shared.reference_data import shared_dir

CORPUS = shared_dir() / "corpus" / "dsn"


@pytest.fixture(scope="module")
def score() -> Score:
    if not (CORPUS / "key.tsv").is_file():
        pytest.skip(f"DSN corpus not found at {CORPUS} (set SEEVEE_SHARED_DIR)")
    return evaluate(CORPUS)


def test_category_agreement(score: Score) -> None:
    # Generic "user unknown" wording with no SMTP command known is a missing mailbox (issue 8); the key
    # follows Sisimai, which calls it a filter: about 2 % of the rows disagree on that rule alone.
    ratio = score.ratio(score.category_agree, score.final_rows)
    assert ratio >= 0.95, f"category agreement {ratio:.3f}"


def test_reason_agreement(score: Score) -> None:
    ratio = score.ratio(score.reason_agree, score.final_rows)
    assert ratio >= 0.90, f"reason agreement {ratio:.3f}"


def test_recipient_agreement(score: Score) -> None:
    ratio = score.ratio(score.recipient_agree, score.recipient_rows)
    assert ratio >= 0.99, f"recipient agreement {ratio:.3f}"


LABEL_DISAGREEMENTS = {
    "maildir/not/rb-issue-368-bug.eml": (
        "a postmaster's notice with an empty Return-Path saying the message 'was rejected and discarded'"
        " because the target mailbox is full, naming the address: it reads as a mailbox-full bounce,"
        " and no general rule that skips it would spare real bounces of the same form"
    ),
}
"""Key rows we disagree with on reading the email; each is reported by ``make dsn-eval``, never hidden."""


def test_no_non_bounce_is_published_as_a_bounce(score: Score) -> None:
    unexplained = [path for path in score.published_non_bounces if path not in LABEL_DISAGREEMENTS]
    assert unexplained == []
    assert score.non_bounces_published <= len(LABEL_DISAGREEMENTS)


def test_every_email_of_the_key_was_read(score: Score) -> None:
    assert score.emails >= 500
    assert score.bounce_rows > 0


def test_only_delay_warnings_are_set_apart(score: Score) -> None:
    assert score.delayed_rows <= 0.05 * score.bounce_rows
