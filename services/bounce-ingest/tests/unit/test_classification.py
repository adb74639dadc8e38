"""The classifier's rules, table-driven: status codes, reply codes and provider phrases."""

import pytest

from bounce_ingest.classification import (
    REASON_CATEGORY,
    REASONS,
    Verdict,
    category_for,
    classify,
    normalize_status,
    smtp_command,
)

CASES = [
    # (status, code, diagnostic, hint) -> (reason, category)
    (
        ("5.1.1", 550, "550 5.1.1 <a@b.test>: Recipient address rejected: User unknown", None),
        ("userunknown", "mailbox_unknown"),
    ),
    (
        ("5.1.1", 550, "The email account that you tried to reach does not exist.", None),
        ("userunknown", "mailbox_unknown"),
    ),
    (
        ("5.1.10", 550, "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", None),
        ("userunknown", "mailbox_unknown"),
    ),
    (("5.1.2", 550, None, None), ("hostunknown", "mailbox_unknown")),
    (("5.1.6", None, None, None), ("hasmoved", "mailbox_unknown")),
    (("5.2.1", 550, "This account has been disabled or discontinued", None), ("suspend", "mailbox_unknown")),
    (
        ("5.2.2", 552, "The email account that you tried to reach is over quota.", None),
        ("mailboxfull", "temporary"),
    ),
    (("4.2.2", 452, "Mailbox full", None), ("mailboxfull", "temporary")),
    (("4.4.7", None, None, None), ("expired", "temporary")),
    (("4.7.1", 451, "Greylisted, please try again later", None), ("ratelimited", "temporary")),
    (
        (
            "4.7.0",
            421,
            "[TSS04] Messages temporarily deferred due to unexpected volume or user complaints",
            None,
        ),
        ("rejected", "spam_policy"),
    ),
    (
        ("4.7.0", 421, "Too many connections from your host, slow down", None),
        ("ratelimited", "temporary"),
    ),
    (("5.3.4", 552, "Message size exceeds fixed maximum message size", None), ("emailtoolarge", "temporary")),
    (
        ("5.7.26", 550, "Unauthenticated email is not accepted due to DMARC policy", None),
        ("authfailure", "spam_policy"),
    ),
    (
        ("5.7.1", 550, "Service unavailable; client host blocked using zen.spamhaus.org", None),
        ("blocked", "spam_policy"),
    ),
    (("5.7.1", 554, "Message rejected as spam by content filtering", None), ("spamdetected", "spam_policy")),
    (("5.7.1", 550, "Relaying denied", None), ("norelaying", "spam_policy")),
    (
        ("5.7.25", 550, "The IP address sending this message does not have a PTR record", None),
        ("requireptr", "spam_policy"),
    ),
    (("5.7.1", 550, "Virus detected in the message", None), ("virusdetected", "spam_policy")),
    (("5.3.2", 521, "does not accept mail (nullmx)", None), ("notaccept", "mailbox_unknown")),
    (("4.3.2", 421, "does not accept mail", None), ("notaccept", "temporary")),
    (("5.0.0", 550, "550 unknown user (in reply to end of DATA command)", None), ("filtered", "spam_policy")),
    (("5.0.0", 550, "550 no such user (in reply to MAIL FROM command)", None), ("rejected", "spam_policy")),
    ((None, None, None, None), ("onhold", "temporary")),
    (("4.0.0", None, "", None), ("undefined", "temporary")),
    ((None, 550, "", None), ("onhold", "temporary")),
    (("5.1.1", 550, "user unknown", "suppressed"), ("suppressed", "mailbox_unknown")),
    (("5.1.1", 550, "user unknown", "not-a-reason"), ("userunknown", "mailbox_unknown")),
]


@pytest.mark.parametrize(("given", "expected"), CASES)
def test_classify(
    given: tuple[str | None, int | None, str | None, str | None], expected: tuple[str, str]
) -> None:
    verdict = classify(*given)

    assert (verdict.reason, verdict.category) == expected
    assert verdict.permanent is (verdict.category == "mailbox_unknown")


@pytest.mark.parametrize(
    ("reason", "code", "category"),
    [
        ("notaccept", 550, "mailbox_unknown"),
        ("notaccept", 421, "temporary"),
        ("notaccept", None, "mailbox_unknown"),
        ("userunknown", 450, "mailbox_unknown"),
        ("blocked", 421, "spam_policy"),
        ("expired", None, "temporary"),
        ("no-such-reason", None, "temporary"),
    ],
)
def test_category_for(reason: str, code: int | None, category: str) -> None:
    assert category_for(reason, code) == category


def test_every_reason_has_one_of_the_three_categories() -> None:
    assert set(REASON_CATEGORY.values()) == {"mailbox_unknown", "temporary", "spam_policy"}
    assert {"ratelimited", "emailtoolarge", "suppressed", "failedstarttls"} <= REASONS
    assert not {"toomanyconn", "speeding", "mesgtoobig", "exceedlimit"} & REASONS


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("550 5.1.1 user unknown", "5.1.1"),
        ("#5.01.010", "5.1.10"),
        ("(#4.4.7)", "4.4.7"),
        (None, None),
        ("5.7.509", "5.7.509"),
    ],
)
def test_normalize_status(text: str | None, status: str | None) -> None:
    assert normalize_status(text) == status


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("said: 550 user unknown (in reply to RCPT TO command)", "RCPT"),
        ("SMTP error from remote mail server after end of data: 550 rejected", "DATA"),
        (">>> RCPT To:<a@b.test>\n<<< 550 5.1.1 unknown\n>>> DATA\n<<< 503 need RCPT", "RCPT"),
        ("SMTP error from remote mail server after initial connection: 554 go away", "CONN"),
        ("550 user unknown", None),
        # Refused at the greeting: nothing was sent in that session before the error.
        ("... while talking to mx.far.test.:\n<<< 554 IP=192.0.2.9 - go away", "CONN"),
        # Only the failing session's commands count, not an earlier host's.
        (
            "while talking to a.test.:\n>>> RCPT To:<x@a.test>\n<<< 250 ok\n"
            "while talking to b.test.:\n<<< 554 no thanks",
            "CONN",
        ),
        ("while talking to b.test.:\n>>> QUIT\n<<< 421 closing", None),
        ("While talking to mx.far.test:\n>>> MAIL From:<a@b.test>\n<<< 550 Insecure Mail Relay", "MAIL"),
    ],
)
def test_smtp_command(text: str, command: str | None) -> None:
    assert smtp_command(text) == command


def test_verdict_is_frozen() -> None:
    verdict = classify("5.1.1", 550, None)

    assert isinstance(verdict, Verdict)
    with pytest.raises(AttributeError):
        verdict.reason = "other"  # type: ignore[misc]


PROVIDER_PHRASES = [
    # Gmail
    ("5.1.1", 550, "The email account that you tried to reach does not exist.", "userunknown"),
    ("5.2.2", 552, "The email account that you tried to reach is over quota.", "mailboxfull"),
    ("5.2.1", 550, "The email account that you tried to reach is disabled.", "suspend"),
    (
        "4.2.1",
        450,
        "The user you are trying to contact is receiving mail at a rate that prevents",
        "ratelimited",
    ),
    (
        "5.7.1",
        550,
        "Our system has detected an unusual rate of unsolicited mail originating from your IP",
        "blocked",
    ),
    ("5.7.1", 550, "The IP you're using to send mail is not authorized to send email directly", "blocked"),
    (
        "5.7.26",
        550,
        "Unauthenticated email from example.com is not accepted due to domain's DMARC policy",
        "authfailure",
    ),
    ("5.7.25", 550, "The IP address sending this message does not have a PTR record setup", "requireptr"),
    ("5.7.1", 550, "likely suspicious due to the very low reputation of the sending domain", "badreputation"),
    (
        "5.7.0",
        552,
        "This message was blocked because its content presents a potential security issue",
        "policyviolation",
    ),
    # Outlook / Office 365
    (
        "5.1.10",
        550,
        "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        "userunknown",
    ),
    (
        "5.2.2",
        554,
        "STOREDRV.Deliver.Exception:QuotaExceededException.MapiExceptionShutoffQuotaExceeded",
        "mailboxfull",
    ),
    ("5.7.606", 550, "Access denied, banned sending IP [192.0.2.1].", "blocked"),
    ("5.7.708", 550, "Access denied, traffic not accepted from this IP.", "blocked"),
    ("5.4.1", 550, "Recipient address rejected: Access denied. AS(201806281)", "userunknown"),
    ("5.7.509", 550, "Access denied, sending domain does not pass DMARC verification", "authfailure"),
    # Yahoo / AOL
    ("5.0.0", 554, "delivery error: dd This user doesn't have a yahoo.com account", "userunknown"),
    (None, 552, "1 Requested mail action aborted, mailbox not found", "userunknown"),
    ("5.7.9", 554, "Message not accepted for policy reasons.", "policyviolation"),
    (
        "5.7.1",
        553,
        "[BL21] Connections will not be accepted from 192.0.2.1, because the ip is in Spamhaus's list",
        "blocked",
    ),
    ("5.0.0", 554, "This account has been disabled or discontinued", "suspend"),
    # iCloud
    ("5.1.1", 550, "<x@icloud.com>: user does not exist", "userunknown"),
    ("5.7.1", 554, "[CS01] Message rejected due to local policy", "policyviolation"),
    # Mail.ru, Yandex, Postgrey
    ("5.7.1", 550, "Message rejected under suspicion of SPAM", "spamdetected"),
    ("4.7.1", 451, "Greylisted, see http://postgrey.schweikert.ch/help/example.com.html", "ratelimited"),
    # Spectrum (Charter) numbered AUP codes decide whatever the surrounding words say
    ("5.1.0", 550, "<a@b.test> sender rejected. Please see the error codes page. AUP#In-1310", "ratelimited"),
    (None, 554, "AUP#O-1000 Your IP address has been blocked", "blocked"),
    (None, 550, "AUP#In-1100 no reverse DNS for your IP", "requireptr"),
    (None, 552, "AUP#O-1530 message larger than 20MB", "emailtoolarge"),
    # Amazon SES refusing to relay for an identity that is not verified
    (
        "5.0.0",
        554,
        "Message rejected: Email address is not verified. The following identities failed the check "
        "in region US-EAST-1: a@b.test",
        "norelaying",
    ),
    (None, 550, "550 Insecure Mail Relay", "norelaying"),
    # A list server refusing a post from a non-member
    (None, None, "You are not a member of this mailing list <list@lists.test>.", "rejected"),
    # Generic "user unknown" wording with no command known is believed (after DATA it is a filter)
    (None, 550, "Recipient Not Found", "userunknown"),
    ("5.0.0", 550, "550 user unknown", "userunknown"),
    ("5.0.0", 550, "550 user unknown (in reply to end of DATA command)", "filtered"),
    ("5.1.10", 550, "Recipient not found by SMTP address lookup", "userunknown"),
    # Localised notices
    ("5.1.1", 550, "Benutzer unbekannt", "userunknown"),
    (None, 550, "Utilisateur inconnu", "userunknown"),
    (None, 552, "Postfach voll", "mailboxfull"),
    (None, 550, "Пользователь не найден", "userunknown"),
]


@pytest.mark.parametrize(("status", "code", "diagnostic", "reason"), PROVIDER_PHRASES)
def test_provider_phrases(status: str | None, code: int | None, diagnostic: str, reason: str) -> None:
    assert classify(status, code, diagnostic).reason == reason
