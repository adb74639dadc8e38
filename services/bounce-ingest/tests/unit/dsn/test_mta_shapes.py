"""Short synthetic RFC 3464 reports in the shape the common MTAs write, one per reason (the plain-text
notices are in ``test_mta_notices.py``).

Written from each MTA's documented or well-known notice format (not copied from any collection):
the answer must not depend on which MTA wrote the notice, only on what it says.
"""

import pytest

from bounce_ingest.dsn.parser import parse_bounce_email

SENDER = "alice@sender.test"


def rfc3464(
    recipient: str, status: str, diagnostic: str, action: str = "failed", remote: str = "mx.far.test"
) -> bytes:
    """A multipart/report DSN as Postfix, Sendmail, Exchange and most modern MTAs write it."""
    return f"""From: Mail Delivery System <MAILER-DAEMON@relay.sender.test>
To: <{SENDER}>
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

This is the mail system at host relay.sender.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.sender.test

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; {remote}
Diagnostic-Code: smtp; {diagnostic}

--B
Content-Type: text/rfc822-headers

From: {SENDER}
To: {recipient}
Subject: Hello
Message-ID: <m1@sender.test>

--B--
""".encode()


RFC3464_CASES = [
    # (recipient, status, diagnostic, reason, category)
    (
        "gone@far.test",
        "5.1.1",
        "550 5.1.1 <gone@far.test>: Recipient address rejected: User unknown in virtual mailbox table",
        "userunknown",
        "mailbox_unknown",
    ),
    (
        "gone@gmail.test",
        "5.1.1",
        "550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 "
        "double-checking the recipient's email address for typos",
        "userunknown",
        "mailbox_unknown",
    ),
    (
        "gone@outlook.test",
        "5.1.10",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        "userunknown",
        "mailbox_unknown",
    ),
    (
        "gone@yahoo.test",
        "5.0.0",
        "554 delivery error: dd This user doesn't have a yahoo.test account (gone@yahoo.test) [0]",
        "userunknown",
        "mailbox_unknown",
    ),
    (
        "gone@icloud.test",
        "5.1.1",
        "550 5.1.1 <gone@icloud.test>: user does not exist",
        "userunknown",
        "mailbox_unknown",
    ),
    (
        "nobody@nowhere.test",
        "5.1.2",
        "550 5.1.2 Host or domain name not found. Name service error for name=nowhere.test type=A: "
        "Host not found",
        "hostunknown",
        "mailbox_unknown",
    ),
    (
        "moved@far.test",
        "5.1.6",
        "550 5.1.6 recipient no longer on server: moved@far.test",
        "hasmoved",
        "mailbox_unknown",
    ),
    (
        "off@far.test",
        "5.2.1",
        "550 5.2.1 The email account that you tried to reach is disabled.",
        "suspend",
        "mailbox_unknown",
    ),
    (
        "full@far.test",
        "5.2.2",
        "552 5.2.2 The email account that you tried to reach is over quota.",
        "mailboxfull",
        "temporary",
    ),
    (
        "full@o365.test",
        "5.2.2",
        "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException",
        "mailboxfull",
        "temporary",
    ),
    ("big@far.test", "5.3.4", "552 5.3.4 Message size exceeds fixed limit", "emailtoolarge", "temporary"),
    ("null@far.test", "5.1.10", "556 5.1.10 Recipient address has null MX", "notaccept", "mailbox_unknown"),
    ("old@far.test", "4.4.7", "Message expired after 5 days in queue", "expired", "temporary"),
    (
        "rbl@far.test",
        "5.7.1",
        "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
        "blocked",
        "spam_policy",
    ),
    (
        "spam@far.test",
        "5.7.1",
        "550 5.7.1 Message rejected as spam by Content Filtering",
        "spamdetected",
        "spam_policy",
    ),
    (
        "dmarc@gmail.test",
        "5.7.26",
        "550-5.7.26 Unauthenticated email from sender.test is not accepted due to domain's DMARC policy",
        "authfailure",
        "spam_policy",
    ),
    ("spf@far.test", "5.7.23", "550 5.7.23 SPF validation failed", "authfailure", "spam_policy"),
    (
        "ptr@far.test",
        "5.7.25",
        "550 5.7.25 The IP address sending this message does not have a PTR record setup",
        "requireptr",
        "spam_policy",
    ),
    (
        "relay@far.test",
        "5.7.1",
        "554 5.7.1 <relay@far.test>: Relay access denied",
        "norelaying",
        "spam_policy",
    ),
    (
        "virus@far.test",
        "5.7.1",
        "550 5.7.1 Message rejected: virus found in attachment",
        "virusdetected",
        "spam_policy",
    ),
    (
        "policy@yahoo.test",
        "5.7.9",
        "554 5.7.9 Message not accepted for policy reasons",
        "policyviolation",
        "spam_policy",
    ),
    (
        "rep@far.test",
        "5.7.1",
        "550 5.7.1 Your access to this mail system has been rejected due to the sending MTA's poor "
        "reputation",
        "badreputation",
        "spam_policy",
    ),
    (
        "rate@far.test",
        "4.7.0",
        "421 4.7.0 Try again later, closing connection: too many connections from your host",
        "ratelimited",
        "temporary",
    ),
    (
        "grey@far.test",
        "4.7.1",
        "450 4.7.1 <grey@far.test>: Recipient address rejected: Greylisted, see http://postgrey.test/",
        "ratelimited",
        "temporary",
    ),
    (
        "tls@far.test",
        "5.7.10",
        "530 5.7.10 Must issue a STARTTLS command first",
        "failedstarttls",
        "spam_policy",
    ),
    ("mime@far.test", "5.6.0", "554 5.6.0 Invalid MIME structure", "contenterror", "spam_policy"),
    (
        "rfc@gmail.test",
        "5.7.1",
        "550-5.7.1 This message is not RFC 5322 compliant. There are multiple From headers",
        "notcompliantrfc",
        "spam_policy",
    ),
    (
        "sender@far.test",
        "5.1.8",
        "553 5.1.8 <alice@sender.test>... Domain of sender address alice@sender.test does not exist",
        "rejected",
        "spam_policy",
    ),
    (
        "filter@far.test",
        "5.0.0",
        "550 5.0.0 Unknown user (in reply to end of DATA command)",
        "filtered",
        "spam_policy",
    ),
]


@pytest.mark.parametrize(("recipient", "status", "diagnostic", "reason", "category"), RFC3464_CASES)
def test_rfc3464_reports(recipient: str, status: str, diagnostic: str, reason: str, category: str) -> None:
    answer = parse_bounce_email(rfc3464(recipient, status, diagnostic))

    assert answer.kind == "bounce"
    [bounce] = answer.bounces
    assert (bounce.recipient, bounce.reason, bounce.category) == (recipient, reason, category)
    assert bounce.decided_by in ("fields", "status", "phrase", "command", "reply", "fallback")
    assert answer.original_message_id == "<m1@sender.test>"


@pytest.mark.parametrize("action", ["delivered", "relayed", "expanded"])
def test_success_reports_are_not_bounces(action: str) -> None:
    answer = parse_bounce_email(rfc3464("fine@far.test", "2.0.0", "250 2.0.0 OK", action=action))

    assert (answer.kind, answer.bounces) == ("delivered", [])
    assert answer.recipients == ["fine@far.test"]


def test_a_delayed_report_is_a_delay_with_its_recipient() -> None:
    answer = parse_bounce_email(rfc3464("slow@far.test", "4.4.1", "421 4.4.1 no answer", action="delayed"))

    assert (answer.kind, answer.bounces, answer.recipients) == ("delayed", [], ["slow@far.test"])
