"""Bounce formats that bend RFC 3464 or write no delivery-status part at all, one handwritten email each."""

from bounce_ingest.dsn.parser import parse_bounce_email


def email(headers: str, body: str) -> bytes:
    return (headers.strip() + "\n\n" + body.lstrip("\n")).encode()


SENDMAIL_HEADERS = """
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.sender.test>
To: <alice@sender.test>
Subject: Returned mail: see transcript for details
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"
"""


def test_recipient_blocks_written_without_a_blank_line_are_two_recipients() -> None:
    raw = email(
        SENDMAIL_HEADERS,
        """
--B
Content-Type: text/plain

Your message could not be delivered.

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.sender.test
Final-Recipient: rfc822; full@far.test
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 550 5.2.2 <full@far.test>... Mailbox Full
Final-Recipient: rfc822; gone@far.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <gone@far.test>... User Unknown

--B--
""",
    )

    answer = parse_bounce_email(raw)

    assert [(b.recipient, b.reason, b.smtp_status) for b in answer.bounces] == [
        ("full@far.test", "mailboxfull", "5.2.2"),
        ("gone@far.test", "userunknown", "5.1.1"),
    ]


def test_greeting_refused_in_the_transcript_is_a_block_not_a_missing_user() -> None:
    # 5.5.0 alone would read as an unknown user; the transcript shows no command was ever sent.
    raw = email(
        SENDMAIL_HEADERS,
        """
--B
Content-Type: text/plain

   ----- The following addresses had permanent fatal errors -----
<alias@far.test>
    (reason: 554 IP=192.0.2.9 - A problem occurred. (BL))

   ----- Transcript of session follows -----
... while talking to mx.far.test.:
<<< 554 IP=192.0.2.9 - A problem occurred. (BL)
554 5.0.0 Service unavailable

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.sender.test

Final-Recipient: RFC822; expanded@far.test
Action: failed
Status: 5.5.0
Diagnostic-Code: SMTP; 554 IP=192.0.2.9 - A problem occurred. (BL)

--B--
""",
    )

    [bounce] = parse_bounce_email(raw).bounces

    assert (bounce.reason, bounce.category) == ("blocked", "spam_policy")
    assert bounce.recipient == "expanded@far.test"


def test_sendmail_result_line_does_not_run_into_the_next_host() -> None:
    raw = email(
        """
From: Mail Delivery Subsystem <MAILER-DAEMON@relay.sender.test>
To: alice@sender.test
Subject: Returned mail: Remote protocol error
""",
        """
   ----- Transcript of session follows -----
While talking to mx.far.test:
>>> MAIL From:<alice@sender.test>
<<< 550 Insecure Mail Relay
554 <bob@far.test>... Remote protocol error
421 other.test (smtp)... Deferred: Connection timed out during user open with other.test

   ----- Unsent message follows -----
From: alice@sender.test
To: bob@far.test
Subject: hello

hello
""",
    )

    [bounce] = parse_bounce_email(raw).bounces

    assert (bounce.recipient, bounce.reason, bounce.category) == ("bob@far.test", "norelaying", "spam_policy")
    assert bounce.diagnostic == "<bob@far.test>... Remote protocol error"


LIST_REFUSAL = """
From: list-admin@lists.test
To: alice@sender.test
Subject: You alice@sender.test are not member (team ML)
X-MLServer: fml [fml 4.0.3 release]
"""


def test_list_server_refusing_a_non_member_is_a_bounce() -> None:
    raw = email(LIST_REFUSAL, "You are not a member of this mailing list <team@lists.test>.\n")

    answer = parse_bounce_email(raw)

    assert answer.kind == "bounce"
    assert [(b.reason, b.category) for b in answer.bounces] == [("rejected", "spam_policy")]


def test_the_same_subject_from_a_person_is_not_a_bounce() -> None:
    headers = LIST_REFUSAL.replace("X-MLServer: fml [fml 4.0.3 release]\n", "")
    raw = email(headers, "You are not a member of this mailing list <team@lists.test>.\n")

    assert parse_bounce_email(raw).kind == "not_a_bounce"


def test_a_forwarded_bounce_supplies_the_answer_the_notice_leaves_out() -> None:
    raw = email(
        """
From: postmaster@gateway.test
To: alice@sender.test
Subject: Mail could not be delivered
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="G"
""",
        """
--G
Content-Type: text/plain

The following mail could not be delivered.
Reason:  Unable to deliver message to <bob@far.test>.

--G
Content-Type: message/rfc822

From: alice@sender.test
To: bob@far.test
Subject: hello
Content-Type: text/plain

   ----- The following addresses had permanent fatal errors -----
<bob@far.test>
   ----- Transcript of the session follows -----
... while talking to mx.far.test:
>>> RCPT To:<bob@far.test>
<<< 550 5.1.1 <bob@far.test>... Invalid recipient

--G--
""",
    )

    [bounce] = parse_bounce_email(raw).bounces

    assert (bounce.recipient, bounce.reason, bounce.smtp_status) == ("bob@far.test", "userunknown", "5.1.1")


def test_a_returned_message_in_prose_is_not_read_as_a_server_answer() -> None:
    raw = email(
        """
From: postmaster@gateway.test
To: alice@sender.test
Subject: Mail could not be delivered
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="G"
""",
        """
--G
Content-Type: text/plain

The following mail could not be delivered.
Reason:  Unable to deliver message to <bob@far.test>.

--G
Content-Type: message/rfc822

From: alice@sender.test
To: bob@far.test
Subject: lunch
Content-Type: text/plain

Hi bob@far.test, the spam filter at work is blocked again; lunch at 550 Main Street?

--G--
""",
    )

    [bounce] = parse_bounce_email(raw).bounces

    assert (bounce.reason, bounce.smtp_status) == ("onhold", None)
