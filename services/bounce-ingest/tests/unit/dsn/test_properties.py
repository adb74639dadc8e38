"""Random and mutated input never breaks the parser: always a Classification, never an exception."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bounce_ingest.dsn.model import Classification
from bounce_ingest.dsn.parser import _parse, parse_bounce_email
from seevee_shared.reference_data import shared_dir

FIXTURES = Path(__file__).parent / "fixtures"
CORPUS = shared_dir() / "corpus" / "dsn" / "maildir" / "bsd"


def _seeds() -> list[bytes]:
    seeds = [path.read_bytes() for path in sorted(FIXTURES.glob("*.eml"))]
    if CORPUS.is_dir():
        seeds += [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))[::7]]
    return seeds


SEEDS = _seeds()
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_answer(answer: Classification) -> None:
    assert isinstance(answer, Classification)
    if answer.kind != "bounce":
        assert answer.bounces == []
    for bounce in answer.bounces:
        assert bounce.category in ("mailbox_unknown", "temporary", "spam_policy")
        assert bounce.permanent is (bounce.category == "mailbox_unknown")


@FAST
@given(st.binary(max_size=4096))
def test_random_bytes(raw: bytes) -> None:
    _assert_answer(_parse(raw))
    _assert_answer(parse_bounce_email(raw))


@FAST
@given(
    st.lists(
        st.sampled_from(
            [
                b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n",
                b"Content-Type: message/delivery-status\n",
                b"--x\n",
                b"--x--\n",
                b"Final-Recipient: rfc822; ",
                b"Action: failed\n",
                b"Status: 5.1.1\n",
                b"Diagnostic-Code: smtp; 550 ",
                b"From: MAILER-DAEMON@x.test\n",
                b"\n",
                b"\r",
                b"a@b.test\n",
                b"<\xff\xfe@>",
                b"=?utf-8?b?invalid?=",
                b"Content-Transfer-Encoding: base64\n",
                b"Content-Type: text/plain; charset=no-such-charset\n",
            ]
        ),
        max_size=60,
    )
)
def test_mime_shaped_noise(pieces: list[bytes]) -> None:
    _assert_answer(_parse(b"".join(pieces)))


@FAST
@given(
    seed=st.sampled_from(SEEDS),
    cuts=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=8),
    truncate=st.integers(0, 1 << 16),
)
def test_mutated_bounces(seed: bytes, cuts: list[tuple[int, int]], truncate: int) -> None:
    raw = bytearray(seed)
    for position, value in cuts:
        if raw:
            raw[position % len(raw)] = value
    mutated = bytes(raw[: max(truncate, len(raw) // 2)])
    # Called without parse_bounce_email's safety net, so a parser bug fails here instead of hiding
    # behind a "not_a_bounce" answer.
    _assert_answer(_parse(mutated))
    _assert_answer(parse_bounce_email(mutated))


@pytest.mark.parametrize("seed", SEEDS[:5])
def test_line_endings_do_not_change_the_answer(seed: bytes) -> None:
    lf = seed.replace(b"\r\n", b"\n")

    assert parse_bounce_email(lf.replace(b"\n", b"\r\n")) == parse_bounce_email(lf)
    assert parse_bounce_email(lf.replace(b"\n", b"\r")) == parse_bounce_email(lf)
