"""Handwritten emails of each kind the parser must tell apart."""

from pathlib import Path

from bounce_ingest.dsn.model import Classification
from bounce_ingest.dsn.parser import parse_bounce_email

FIXTURES = Path(__file__).parent / "fixtures"


def parse(name: str) -> Classification:
    return parse_bounce_email((FIXTURES / name).read_bytes())


def test_rfc3464_report_gives_one_bounce_per_failed_recipient() -> None:
    answer = parse("rfc3464_two_recipients.eml")

    assert answer.kind == "bounce"
    assert [(b.recipient, b.reason, b.category) for b in answer.bounces] == [
        ("bob@gone.test", "userunknown", "mailbox_unknown"),
        ("carol@full.test", "mailboxfull", "temporary"),
    ]
    first = answer.bounces[0]
    assert (first.smtp_status, first.smtp_code, first.remote_mta) == ("5.1.1", 550, "mx.gone.test")
    assert first.permanent is True
    assert answer.bounces[1].permanent is False
    assert answer.original_message_id == "<original-42@sender.test>"
    assert answer.seevee_message_id == "6f1c2a9e-0d4b-4c57-9d55-0a8e1f3b7c21"


def test_delayed_action_is_not_a_bounce() -> None:
    answer = parse("delayed.eml")

    assert answer.kind == "delayed"
    assert answer.bounces == []
    assert answer.recipients == ["slow@far.test"]
    assert answer.original_message_id == "<original-43@sender.test>"


def test_out_of_office_is_an_auto_reply() -> None:
    answer = parse("out_of_office.eml")

    assert answer.kind == "auto_reply"
    assert answer.bounces == []


def test_arf_report_is_a_complaint_with_its_feedback_type() -> None:
    answer = parse("arf_complaint.eml")

    assert answer.kind == "complaint"
    assert answer.feedback_type == "abuse"
    assert answer.recipients == ["eve@isp.test"]
    assert answer.original_message_id == "<original-44@sender.test>"


def test_qmail_notice_without_delivery_status_is_read_from_text() -> None:
    answer = parse("qmail_text.eml")

    assert answer.kind == "bounce"
    assert [(b.recipient, b.reason, b.smtp_status) for b in answer.bounces] == [
        ("nobody-here@gone.test", "userunknown", "5.1.1")
    ]
    assert answer.original_message_id == "<original-45@sender.test>"


def test_cr_only_line_endings_parse_like_lf() -> None:
    assert parse("qmail_text_cr_only.eml") == parse("qmail_text.eml")


def test_crlf_line_endings_parse_like_lf() -> None:
    raw = (FIXTURES / "rfc3464_two_recipients.eml").read_bytes()

    assert parse_bounce_email(raw.replace(b"\n", b"\r\n")) == parse_bounce_email(raw)


def test_plain_mail_and_garbage_are_not_bounces() -> None:
    plain = b"From: a@b.test\nTo: c@d.test\nSubject: lunch?\n\nSee you at noon.\n"

    assert parse_bounce_email(plain).kind == "not_a_bounce"
    assert parse_bounce_email(b"").kind == "not_a_bounce"
    assert parse_bounce_email(b"\x00\xff\xfe garbage").kind == "not_a_bounce"


def test_exim_notice_names_each_failed_recipient_with_its_own_reason() -> None:
    answer = parse("exim_two_recipients.eml")

    assert answer.kind == "bounce"
    assert [(b.recipient, b.reason, b.smtp_status, b.smtp_code) for b in answer.bounces] == [
        ("gone@far.test", "userunknown", "5.1.1", 550),
        ("full@far.test", "mailboxfull", "5.2.2", 552),
    ]
    assert answer.bounces[0].remote_mta == "mx.far.test"
    assert answer.original_message_id == "<original-46@sender.test>"
    assert answer.seevee_message_id == "0b8f2f4e-8f7a-4c5e-9a55-1d2e3f4a5b6c"


def test_a_person_writing_about_a_failed_delivery_is_not_a_bounce() -> None:
    assert parse("human_reply.eml").kind == "not_a_bounce"


def test_ses_notification_by_email_is_read_from_its_json() -> None:
    answer = parse("ses_bounce_notification.eml")

    assert answer.kind == "bounce"
    assert [(b.recipient, b.reason, b.smtp_status) for b in answer.bounces] == [
        ("gone@far.test", "userunknown", "5.1.1")
    ]
    assert answer.original_message_id == "<original-47@sender.test>"


def test_delay_warning_without_delivery_status_is_not_a_bounce() -> None:
    answer = parse("exim_delay_warning.eml")

    assert answer.kind == "delayed"
    assert answer.bounces == []


def test_a_list_message_with_a_bounces_return_path_is_not_a_bounce() -> None:
    assert parse("list_newsletter.eml").kind == "not_a_bounce"


def test_a_reply_quoting_the_original_is_not_a_bounce() -> None:
    assert parse("human_reply_quoting.eml").kind == "not_a_bounce"
