"""Signed requests as the ingest receives them: verifiable with the dev credentials' public halves only."""

import base64
import hashlib
import hmac
import json
import random
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_der_public_key

from sandbox.bounce_payloads import BounceKind
from sandbox.credentials import dev_environment, load_or_create
from sandbox.sends import Send
from sandbox.signing import SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER, sns_canonical_string
from sandbox.webhooks import PlannedBounce, mailgun_request, sendgrid_request, ses_request

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def a_send(n: int, provider: str) -> Send:
    return Send(
        workspace_id="ws-a",
        message_id=f"message-{n}",
        thread_id=f"thread-{n}",
        contact_id=f"contact-{n}",
        run_id=f"run-{n}",
        run_step=1,
        recipient=f"person{n}@acme.example",
        sender_mailbox="sam@seevee-demo.example",
        provider=provider,  # type: ignore[arg-type]
        provider_message_id=f"provider-{n}",
        smtp_message_id=f"<m{n}@seevee-demo.example>",
        subject="Quick introduction",
        sent_at=NOW,
    )


def test_a_sendgrid_batch_mixes_bounces_and_deliveries_under_one_signature(tmp_path: Path) -> None:
    env = dev_environment(tmp_path)
    bounces = [PlannedBounce(a_send(1, "sendgrid"), BounceKind.MAILBOX_UNKNOWN)]
    bounces.append(PlannedBounce(a_send(2, "sendgrid"), BounceKind.SPAM_POLICY))
    request = sendgrid_request(
        load_or_create(tmp_path), bounces, [a_send(3, "sendgrid")], NOW, random.Random(1)
    )
    key = load_der_public_key(base64.b64decode(env["SENDGRID_WEBHOOK_PUBLIC_KEY"]))
    assert isinstance(key, ec.EllipticCurvePublicKey)

    signed = request.headers[SENDGRID_TIMESTAMP_HEADER].encode() + request.body
    key.verify(base64.b64decode(request.headers[SENDGRID_SIGNATURE_HEADER]), signed, ec.ECDSA(SHA256()))
    events = json.loads(request.body)
    assert sorted((e["seevee_message_id"], e["event"]) for e in events) == [
        ("message-1", "bounce"),
        ("message-2", "bounce"),
        ("message-3", "delivered"),
    ]


def test_an_ses_notification_verifies_with_the_certificate_the_ingest_is_given(tmp_path: Path) -> None:
    env = dev_environment(tmp_path)
    credentials = load_or_create(tmp_path)
    request = ses_request(
        credentials, PlannedBounce(a_send(4, "ses"), BounceKind.DEAD_DOMAIN), NOW, random.Random(2)
    )
    posted = json.loads(request.body)
    url = urlsplit(posted["SigningCertURL"])
    certificate = x509.load_pem_x509_certificate(
        Path(env["SES_SNS_CERT_DIR"], url.netloc, url.path.lstrip("/")).read_bytes()
    )
    key = certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey)

    assert posted["TopicArn"] in env["SES_SNS_TOPIC_ARNS"].split(",")
    key.verify(base64.b64decode(posted["Signature"]), sns_canonical_string(posted), PKCS1v15(), SHA256())
    tags = json.loads(posted["Message"])["mail"]["tags"]
    assert tags["seevee_message_id"] == ["message-4"]


def test_a_mailgun_event_is_signed_with_the_key_the_ingest_is_given(tmp_path: Path) -> None:
    env = dev_environment(tmp_path)
    request = mailgun_request(
        load_or_create(tmp_path),
        PlannedBounce(a_send(5, "mailgun"), BounceKind.MAILBOX_FULL),
        NOW,
        random.Random(3),
    )
    posted = json.loads(request.body)
    signature = posted["signature"]
    expected = hmac.new(
        env["MAILGUN_WEBHOOK_SIGNING_KEY"].encode(),
        (signature["timestamp"] + signature["token"]).encode(),
        hashlib.sha256,
    ).hexdigest()

    assert signature["signature"] == expected
    event = posted["event-data"]
    assert (event["event"], event["severity"], event["reason"]) == ("failed", "permanent", "old")
    assert event["user-variables"]["seevee_message_id"] == "message-5"
    assert event["delivery-status"]["code"] == 452
