"""Each layer of evidence on its own, and how a stronger one bounds a weaker one (table-driven)."""

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bounce_ingest import classification
from bounce_ingest.classification import LAYERS, REASONS, TextCache, classify, status_meaning
from bounce_ingest.dsn.phrases import STATUS_MEANINGS

Case = tuple[str | None, int | None, str | None, str, str]

STATUS_LAYER: list[Case] = [
    # (status, code, diagnostic, reason, decided_by): the code decides, the text says nothing new
    ("5.1.1", 550, "550 5.1.1 rejected", "userunknown", "status"),
    ("5.1.2", 550, None, "hostunknown", "status"),
    ("5.1.3", 501, "501 5.1.3 bad recipient address syntax", "userunknown", "status"),
    ("5.1.6", 550, "550 5.1.6 recipient no longer here", "hasmoved", "status"),
    ("5.1.8", 553, "553 5.1.8 rejected", "rejected", "status"),
    ("5.1.10", 550, "550 5.1.10 null MX", "notaccept", "status"),
    ("5.2.1", 550, "550 5.2.1 rejected", "suspend", "status"),
    ("5.2.2", 552, "552 5.2.2 rejected", "mailboxfull", "status"),
    ("4.2.2", 452, "452 4.2.2 try later", "mailboxfull", "status"),
    ("5.2.3", 552, None, "emailtoolarge", "status"),
    ("5.3.4", 552, None, "emailtoolarge", "status"),
    ("5.3.1", 452, None, "systemfull", "status"),
    ("4.4.7", None, None, "expired", "status"),
    ("5.4.6", 554, None, "networkerror", "status"),
    ("5.5.3", 452, None, "ratelimited", "status"),
    ("5.6.0", 554, None, "contenterror", "status"),
    ("5.7.1", 554, "554 5.7.1 rejected", "blocked", "status"),
    ("5.7.0", 554, None, "securityerror", "status"),
    ("5.7.13", 525, None, "suspend", "status"),
    ("5.7.23", 550, None, "authfailure", "status"),
    ("5.7.24", 550, None, "authfailure", "status"),
    ("5.7.25", 550, None, "requireptr", "status"),
    ("5.7.26", 550, None, "authfailure", "status"),
    ("5.7.27", 550, None, "notaccept", "status"),
    ("5.7.28", 550, None, "spamdetected", "status"),
    ("5.7.29", 550, None, "authfailure", "status"),
    # The detail code is unknown: its class and subject (X.Y.0) speak
    ("5.1.99", 550, None, "userunknown", "status"),
    ("5.6.99", 554, None, "contenterror", "status"),
    # An exact code beats text that only names a weaker reason...
    ("5.1.1", 550, "550 5.1.1 message rejected, try again later (throttled)", "userunknown", "status"),
    ("5.2.2", 552, "552 5.2.2 user unknown", "mailboxfull", "status"),
]

PHRASE_REFINES: list[Case] = [
    # ...but may be refined into the reasons it yields to
    ("5.1.1", 550, "550 5.1.1 <a@b.test>: mailbox disabled for this recipient", "suspend", "phrase"),
    ("5.1.1", 550, "550 5.1.1 Relay access denied", "norelaying", "phrase"),
    ("5.1.1", 550, "550 5.1.1 procmail: couldn't create /var/mail/a", "mailererror", "phrase"),
    ("5.1.10", 550, "550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found", "userunknown", "phrase"),
    # A broad code is a default that text refines
    ("5.7.1", 554, "554 5.7.1 Message rejected as spam", "spamdetected", "phrase"),
    ("5.7.1", 550, "550 5.7.1 Relaying denied", "norelaying", "phrase"),
    ("4.7.1", 451, "451 4.7.1 Greylisted, try again in 5 minutes", "ratelimited", "phrase"),
    ("5.2.1", 550, "550 5.2.1 The email account that you tried to reach is disabled.", "suspend", "phrase"),
    # A generic code (X.0.0) says nothing but the class: text decides
    ("5.0.0", 550, "550 user unknown", "userunknown", "phrase"),
    (
        "5.0.0",
        554,
        "554 delivery error: dd This user doesn't have a yahoo.com account",
        "userunknown",
        "phrase",
    ),
    ("4.0.0", 450, "450 mailbox full", "mailboxfull", "phrase"),
    # No status at all: the code quoted in the text is used, or text decides
    (None, 550, "550 5.1.1 <a@b.test>: Recipient address rejected", "userunknown", "status"),
    (None, 550, "Host or domain name not found", "hostunknown", "phrase"),
    # Under a mailbox-status, system or policy code, generic "unknown user" comes from a filter...
    ("5.2.1", 550, "550 5.2.1 User Unknown", "filtered", "status"),
    ("5.7.1", 550, "550 5.7.1 550 User Unknown", "filtered", "status"),
    # ...unless it answered RCPT TO, or says the mailbox does not exist
    ("5.2.1", 550, "550 5.2.1 user unknown (in reply to RCPT TO command)", "userunknown", "phrase"),
    ("5.7.1", 550, "550 5.7.1 mailbox does not exist", "userunknown", "phrase"),
]

COMMAND_LAYER: list[Case] = [
    ("5.0.0", 550, "550 unknown user (in reply to end of DATA command)", "filtered", "command"),
    ("5.0.0", 550, "550 no such user (in reply to MAIL FROM command)", "rejected", "command"),
    (
        None,
        554,
        "SMTP error from remote mail server after initial connection: 554 no thanks",
        "blocked",
        "command",
    ),
    (None, 550, "550 rejected (in reply to MAIL FROM command)", "rejected", "command"),
    # Wording that names the mailbox as missing is believed after DATA too
    (None, 550, "550 mailbox does not exist (in reply to end of DATA command)", "userunknown", "phrase"),
    # A sender's address refused at MAIL FROM is not the recipient's mailbox
    ("5.1.1", 550, "550 5.1.1 sender unknown (in reply to MAIL FROM command)", "rejected", "phrase"),
    ("5.1.1", 550, "550 5.1.1 no (in reply to MAIL FROM command)", "rejected", "command"),
]

REPLY_LAYER: list[Case] = [
    (None, 552, "552 requested action aborted", "mailboxfull", "reply"),
    (None, 552, "552 message too large for this system", "emailtoolarge", "phrase"),
    (None, 521, "521 closing", "notaccept", "reply"),
    (None, 556, "556 domain does not accept mail", "notaccept", "phrase"),
    (None, 551, "551 not local", "hasmoved", "reply"),
    (None, 530, "530 closing", "securityerror", "reply"),
    (None, 451, "451 local problem", "systemerror", "reply"),
]

FALLBACK: list[Case] = [
    (None, None, None, "onhold", "fallback"),
    (None, 550, "550 no", "onhold", "fallback"),
    ("4.0.0", 450, "450 no", "undefined", "fallback"),
    ("5.0.0", None, "", "onhold", "fallback"),
]


@pytest.mark.parametrize(
    ("status", "code", "diagnostic", "reason", "layer"),
    STATUS_LAYER + PHRASE_REFINES + COMMAND_LAYER + REPLY_LAYER + FALLBACK,
)
def test_each_layer(
    status: str | None, code: int | None, diagnostic: str | None, reason: str, layer: str
) -> None:
    verdict = classify(status, code, diagnostic)

    assert (verdict.reason, verdict.decided_by) == (reason, layer)
    assert verdict.permanent is (verdict.category == "mailbox_unknown")


@pytest.mark.parametrize(
    ("action", "status", "diagnostic", "reason", "layer"),
    [
        ("delayed", "4.0.0", "", "expired", "fields"),
        ("delayed", "4.2.2", "mailbox full", "mailboxfull", "status"),
        ("delayed", "5.1.1", "user unknown", "userunknown", "status"),
        ("failed", "5.1.1", "user unknown", "userunknown", "status"),
    ],
)
def test_action_delayed_is_never_permanent(
    action: str, status: str, diagnostic: str, reason: str, layer: str
) -> None:
    verdict = classify(status, None, diagnostic, action=action)

    assert (verdict.reason, verdict.decided_by) == (reason, layer)
    assert verdict.permanent is (action != "delayed")
    if action == "delayed":
        assert verdict.category == "temporary"


def test_a_precise_hint_decides_and_a_given_command_is_used() -> None:
    assert classify("5.1.1", 550, "user unknown", "suppressed").decided_by == "fields"
    assert classify(None, 550, "550 user unknown", command="DATA").reason == "filtered"
    assert classify(None, 550, "550 user unknown", command="RCPT").reason == "userunknown"


def test_later_texts_are_read_only_when_earlier_ones_name_nothing() -> None:
    texts = ["", "450 4.2.2 Mailbox full", "user unknown"]

    assert classify(None, None, "", texts=texts).reason == "mailboxfull"


def test_the_registry_is_complete_for_both_classes() -> None:
    for subject, details in {1: 10, 2: 4, 3: 5, 4: 7, 5: 6, 6: 10, 7: 30}.items():
        for detail in range(1, details + 1):
            for klass in (4, 5):
                if (subject, detail) in ((1, 5),):
                    continue  # X.1.5 "destination address valid" is not a failure
                assert status_meaning(f"{klass}.{subject}.{detail}") is not None, (klass, subject, detail)
    assert status_meaning("5.0.0") is None
    assert {m.reason for m in STATUS_MEANINGS.values()} <= REASONS


def test_the_phrase_cache_is_bounded_in_bytes() -> None:
    cache = TextCache(max_bytes=64 * 1024)
    for number in range(50):
        key = (f"{number} user unknown " * 200_000)[: classification.TEXT_LIMIT]
        cache.put(key, "userunknown")
    assert cache.bytes <= 64 * 1024
    assert len(cache) < 50


def test_huge_diagnostics_leave_the_shared_cache_bounded() -> None:
    cache = classification.PHRASE_CACHE
    before = cache.bytes
    for number in range(40):
        diagnostic = f"550 {number} user unknown " + "x" * 2_000_000
        assert classify(None, None, diagnostic).reason == "userunknown"
    # Each 2 MB diagnostic is cached under its first TEXT_LIMIT characters only (two keys at most:
    # the text and the failing reply in it), and the whole cache stays under its byte limit.
    assert cache.bytes - before <= 40 * 2 * sys.getsizeof("x" * classification.TEXT_LIMIT)
    assert cache.bytes <= cache.max_bytes


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
WORDS = st.lists(
    st.sampled_from(
        [
            "550",
            "5.1.1",
            "4.2.2",
            "user",
            "unknown",
            "mailbox",
            "full",
            "spam",
            "in reply to",
            "RCPT TO",
            "end of DATA",
            "command",
            "MAIL FROM",
            "after",
            "initial connection",
            ">>>",
            "<<<",
            "\n",
            "-",
            "...",
        ]
    ),
    max_size=40,
).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(
    status=st.one_of(st.none(), TEXT, st.from_regex(r"[245]\.\d{1,3}\.\d{1,3}", fullmatch=True)),
    code=st.one_of(st.none(), st.integers(-1000, 1000)),
    diagnostic=st.one_of(st.none(), TEXT, WORDS),
    hint=st.one_of(st.none(), TEXT, st.sampled_from(sorted(REASONS))),
    action=st.one_of(st.none(), st.sampled_from(["failed", "delayed", "delivered", ""]), TEXT),
)
def test_any_evidence_gives_a_valid_verdict(
    status: str | None, code: int | None, diagnostic: str | None, hint: str | None, action: str | None
) -> None:
    verdict = classify(status, code, diagnostic, hint, action=action)

    assert verdict.reason in REASONS
    assert verdict.category in ("mailbox_unknown", "temporary", "spam_policy")
    assert verdict.permanent is (verdict.category == "mailbox_unknown")
    assert verdict.decided_by in LAYERS


@pytest.mark.parametrize(
    ("diagnostic", "reason"),
    [
        # Providers' own published error codes name the reason whatever the words around them say
        (
            "550 5.5.0 Adresse d au moins un destinataire invalide. Invalid recipient. LPN007_416",
            "userunknown",
        ),
        ("552 5.1.1 Boite du destinataire pleine. Recipient overquota. OFR_417 [417]", "mailboxfull"),
        ("Mail rejete. Mail rejected. OFR_506 [506]", "spamdetected"),
        # ...and the command does not turn a provider's numbered "invalid recipient" into a filter
        ("550 5.5.0 Invalid recipient. LPN007_416 (in reply to end of DATA command)", "userunknown"),
        ("554 5.7.1 Client host rejected LPN000_630", "policyviolation"),
        ("552 This message has been rejected due to content judged to be spam. IB212", "spamdetected"),
        ("421 Temporarily rejected. Reverse DNS for this IP failed. IB108", "requireptr"),
        ("554 Connection refused. This IP has a poor reputation on Cloudmark. IB103", "badreputation"),
        ("554 AUP#CXBL The sending IP has been blocked", "blocked"),
        ("554 AUP#CXSNDR authentication checks failed", "authfailure"),
        ("421 AUP#CXCNCT too many connections", "ratelimited"),
    ],
)
def test_provider_error_codes(diagnostic: str, reason: str) -> None:
    assert classify(None, None, diagnostic).reason == reason
