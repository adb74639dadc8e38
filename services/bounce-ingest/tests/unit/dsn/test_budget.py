"""The pre-scan refuses what the parser should never see and lets every real bounce through."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounce_ingest.dsn.budget import EmailBudget, OverBudget, check_budget
from bounce_ingest.hostile_emails import large_header_block, nested_multiparts
from seevee_shared.reference_data import shared_dir

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = shared_dir() / "corpus" / "dsn"


@pytest.mark.parametrize(
    ("email", "refusal"),
    [
        (nested_multiparts(900, 5_000_000), "nests more than 40"),
        (nested_multiparts(41, 10_000), "nests more than 40"),
        (large_header_block(300_000), "header block"),
        (b"Subject: x\n\n" + b"\n" * 200_001, "lines"),
        (b"Subject: x\r\r" + b"\r" * 200_001, "lines"),
        (b"x" * (5 * 1024 * 1024 + 1), "larger than"),
    ],
)
def test_hostile_shapes_are_refused(email: bytes, refusal: str) -> None:
    with pytest.raises(OverBudget, match=refusal):
        check_budget(email)


def test_limits_are_inclusive_and_configurable() -> None:
    check_budget(nested_multiparts(40, 10_000))
    check_budget(b"Subject: x\r\n\r\n" + b"line\r\n" * 199_000)
    with pytest.raises(OverBudget):
        check_budget(nested_multiparts(5, 1_000), EmailBudget(max_containers=4))


def test_every_real_bounce_is_within_the_budget() -> None:
    emails = [path for folder in (FIXTURES, CORPUS) if folder.is_dir() for path in folder.rglob("*.eml")]
    assert emails, "no bounce emails found to check against"
    for path in emails:
        check_budget(path.read_bytes())


@given(st.binary(max_size=2000))
def test_any_bytes_pass_or_are_over_budget(raw: bytes) -> None:
    try:
        check_budget(raw, EmailBudget(max_bytes=1000, max_header_bytes=100, max_lines=50, max_containers=2))
    except OverBudget as refused:
        assert refused.detail
