"""Short synthetic plain-text bounce notices (no delivery-status part), as qmail, Exim, old Sendmail
and the mailbox providers write them, and the mail that only looks like a bounce.

Written from each MTA's documented or well-known notice format (not copied from any collection):
the answer must not depend on which MTA wrote the notice, only on what it says.
"""

import pytest

from bounce_ingest.dsn.parser import parse_bounce_email

SENDER = "alice@sender.test"


def notice(sender: str, subject: str, body: str, extra: str = "") -> bytes:
    """A plain-text notice (no delivery-status part), as qmail, Exim, old Sendmail and providers write."""
    return f"""From: {sender}
To: {SENDER}
Subject: {subject}
{extra}MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

{body.strip()}

--- Below this line is a copy of the message.

From: {SENDER}
To: someone@far.test
Subject: Hello
Message-ID: <m1@sender.test>

Hello!
""".encode()


DAEMON = "MAILER-DAEMON@relay.sender.test"
NOTICE_CASES = [
    # (sender, subject, body, recipient, reason): plain-text notices, one MTA shape each
    (
        "MAILER-DAEMON@qmail.sender.test",
        "failure notice",
        """Hi. This is the qmail-send program at qmail.sender.test.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<gone@far.test>:
192.0.2.9 does not like recipient.
Remote host said: 550 5.1.1 <gone@far.test>... User unknown
Giving up on 192.0.2.9.""",
        "gone@far.test",
        "userunknown",
    ),
    (
        "MAILER-DAEMON@qmail.sender.test",
        "failure notice",
        """Hi. This is the qmail-send program at qmail.sender.test.
I'm afraid I wasn't able to deliver your message to the following addresses.

<someone@nowhere.test>:
Sorry, I couldn't find any host named nowhere.test. (#5.1.2)""",
        "someone@nowhere.test",
        "hostunknown",
    ),
    (
        "Mail Delivery System <Mailer-Daemon@exim.sender.test>",
        "Mail delivery failed: returning message to sender",
        """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  full@far.test
    host mx.far.test [192.0.2.9]
    SMTP error from remote mail server after RCPT TO:<full@far.test>:
    552 5.2.2 Mailbox full""",
        "full@far.test",
        "mailboxfull",
    ),
    (
        "Mail Delivery System <Mailer-Daemon@exim.sender.test>",
        "Mail delivery failed: returning message to sender",
        """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  someone@far.test
    host mx.far.test [192.0.2.9]
    SMTP error from remote mail server after end of data:
    550 5.7.1 Message rejected because of unacceptable content. SPAM detected""",
        "someone@far.test",
        "spamdetected",
    ),
    (
        "Mail Delivery Subsystem <MAILER-DAEMON@sendmail.sender.test>",
        "Returned mail: see transcript for details",
        """The original message was received at Mon, 1 Jan 2024 10:00:00 +0000
from localhost [127.0.0.1]

   ----- The following addresses had permanent fatal errors -----
<gone@far.test>
    (reason: 550 5.1.1 <gone@far.test>... User unknown)

   ----- Transcript of session follows -----
... while talking to mx.far.test.:
>>> RCPT To:<gone@far.test>
<<< 550 5.1.1 <gone@far.test>... User unknown
550 5.1.1 <gone@far.test>... User unknown""",
        "gone@far.test",
        "userunknown",
    ),
    (
        "Mail Delivery Subsystem <MAILER-DAEMON@sendmail.sender.test>",
        "Returned mail: see transcript for details",
        """   ----- The following addresses had permanent fatal errors -----
<someone@far.test>

   ----- Transcript of session follows -----
... while talking to mx.far.test.:
<<< 554 5.7.1 Your IP 192.0.2.1 is listed in bl.spamcop.net""",
        "someone@far.test",
        "blocked",
    ),
    (
        "postmaster@o365.sender.test",
        "Undeliverable: Hello",
        """Delivery has failed to these recipients or groups:

gone@far.test (gone@far.test)
The email address you entered couldn't be found. Please check the recipient's email address
and try to resend the message.

Diagnostic information for administrators:

Generating server: mail.sender.test

gone@far.test
Remote Server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'""",
        "gone@far.test",
        "userunknown",
    ),
    (
        "Mail Delivery Subsystem <mailer-daemon@googlemail.test>",
        "Delivery Status Notification (Failure)",
        """** Address not found **

Your message wasn't delivered to gone@far.test because the address couldn't be found, or is
unable to receive mail.

The response from the remote server was:
550 5.1.1 <gone@far.test>: Recipient address rejected: User unknown""",
        "gone@far.test",
        "userunknown",
    ),
    (
        "MAILER-DAEMON@yahoo.sender.test",
        "Failure Notice",
        """Sorry, we were unable to deliver your message to the following address.

<big@far.test>:
Remote host said: 552 message size exceeds fixed maximum message size [BODY]""",
        "big@far.test",
        "emailtoolarge",
    ),
    (
        "Postmaster@domino.sender.test",
        "DELIVERY FAILURE: User someone (someone@far.test) not listed in Domino Directory",
        """Your message

  Subject: Hello

was not delivered to:

  someone@far.test

because:

  User someone (someone@far.test) not listed in Domino Directory""",
        "someone@far.test",
        "userunknown",
    ),
    (
        "Courier mail server at courier.sender.test <@>",
        "NOTICE: mail delivery status.",
        """This is a delivery status notification from courier.sender.test,
running the Courier mail server.

The original message was received on Mon, 1 Jan 2024 from [192.0.2.1]

---------------------------------------------------------------------------

                           UNDELIVERABLE MAIL

Your message to the following recipients cannot be delivered:

<off@far.test>:
    mx.far.test [192.0.2.9]:
>>> RCPT TO:<off@far.test>
<<< 550 5.2.1 <off@far.test>... Mailbox disabled for this recipient""",
        "off@far.test",
        "suspend",
    ),
]


@pytest.mark.parametrize(("sender", "subject", "body", "recipient", "reason"), NOTICE_CASES)
def test_plain_notices(sender: str, subject: str, body: str, recipient: str, reason: str) -> None:
    answer = parse_bounce_email(notice(sender, subject, body, extra="Return-Path: <>\n"))

    assert answer.kind == "bounce"
    assert [(b.recipient, b.reason) for b in answer.bounces] == [(recipient, reason)]


def test_the_failed_recipients_header_names_the_recipient_when_the_text_does_not() -> None:
    raw = notice(
        "Mail Delivery System <Mailer-Daemon@exim.sender.test>",
        "Mail delivery failed: returning message to sender",
        "A message that you sent could not be delivered.\n\n  550 5.1.1 mailbox unavailable",
        extra="X-Failed-Recipients: gone@far.test\n",
    )

    [bounce] = parse_bounce_email(raw).bounces
    assert (bounce.recipient, bounce.reason) == ("gone@far.test", "userunknown")


def test_the_returned_message_names_the_recipient_when_nothing_else_does() -> None:
    raw = notice(
        "MAILER-DAEMON@relay.sender.test",
        "Undeliverable mail",
        "Your message could not be delivered: 550 5.1.1 mailbox unavailable",
    )

    [bounce] = parse_bounce_email(raw).bounces
    assert bounce.recipient == "someone@far.test"


def test_a_text_delay_warning_names_its_recipient() -> None:
    raw = notice(
        "Mail Delivery System <Mailer-Daemon@exim.sender.test>",
        "Warning: message 1abc-000 delayed 24 hours",
        """This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on exim.sender.test.

The address to which the message has not yet been delivered is:

  slow@far.test
    Delay reason: SMTP error from remote mail server after RCPT TO:<slow@far.test>:
    451 4.7.1 Greylisted

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals.""",
    )

    answer = parse_bounce_email(raw)
    assert (answer.kind, answer.bounces, answer.recipients) == ("delayed", [], ["slow@far.test"])


NOT_BOUNCES = [
    # (sender, subject, body, extra headers, kind)
    (
        "Bob <bob@far.test>",
        "Out of Office: Hello",
        "I am away until Monday.",
        "Auto-Submitted: auto-replied\n",
        "auto_reply",
    ),
    ("Bob <bob@far.test>", "Automatische Antwort: Hello", "Ich bin nicht im Büro.", "", "auto_reply"),
    ("Bob <bob@far.test>", "Read: Hello", "Your message was read on Monday.", "", "not_a_bounce"),
    (
        "Bob <bob@far.test>",
        "Return Receipt (displayed) - Hello",
        "Your message was displayed.",
        "",
        "not_a_bounce",
    ),
    (
        "Bob's filter <challenge@far.test>",
        "Please confirm your message to bob@far.test",
        "Your message could not be delivered until you confirm you are a person. Click the link.",
        "",
        "not_a_bounce",
    ),
    (
        "Bob <bob@far.test>",
        "Re: undeliverable",
        "Your message could not be delivered? It arrived fine, thanks.",
        "",
        "not_a_bounce",
    ),
]


@pytest.mark.parametrize(("sender", "subject", "body", "extra", "kind"), NOT_BOUNCES)
def test_what_is_not_a_bounce(sender: str, subject: str, body: str, extra: str, kind: str) -> None:
    answer = parse_bounce_email(notice(sender, subject, body, extra))

    assert (answer.kind, answer.bounces) == (kind, [])


def test_a_read_receipt_report_is_not_a_bounce() -> None:
    raw = b"""From: Bob <bob@far.test>
To: alice@sender.test
Subject: Gelesen: Hello
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="B"

--B
Content-Type: text/plain

Your message was displayed; it was not necessarily read or understood.

--B
Content-Type: message/disposition-notification

Reporting-UA: far.test; Mailer
Final-Recipient: rfc822; bob@far.test
Original-Message-ID: <m1@sender.test>
Disposition: manual-action/MDN-sent-manually; displayed

--B--
"""
    assert parse_bounce_email(raw).kind == "not_a_bounce"
