"""The providers' side of each scheme: sign webhooks the way the ESP would, for tests and the sandbox.

Nothing here is used to verify; verification lives in each provider module and is tested against the
providers' own published vectors, so a mistake in this file cannot hide one there.
"""

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.oid import NameOID

from bounce_ingest.providers import mailgun, mandrill, resend, sendgrid, ses


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """Body and headers to POST; headers exclude Content-Type unless the scheme depends on it."""

    body: bytes
    headers: dict[str, str]


def basic_auth_headers(user_password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(user_password.encode()).decode()}


class SendGridSigner:
    """A P-256 key pair; ``public_key_b64`` is what ``SENDGRID_WEBHOOK_PUBLIC_KEY`` takes."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey | None = None) -> None:
        self.private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key_b64 = base64.b64encode(der).decode()

    def sign(self, events: list[dict[str, Any]], timestamp: int) -> SignedRequest:
        body = json.dumps(events).encode() + b"\r\n"
        signature = self.private_key.sign(str(timestamp).encode() + body, ec.ECDSA(SHA256()))
        return SignedRequest(
            body,
            {
                sendgrid.SIGNATURE_HEADER: base64.b64encode(signature).decode(),
                sendgrid.TIMESTAMP_HEADER: str(timestamp),
                "Content-Type": "application/json",
            },
        )


def sign_mailgun(
    signing_key: str, event_data: dict[str, Any], timestamp: int, token: str | None = None
) -> SignedRequest:
    token = token or secrets.token_hex(25)
    signature = mailgun.signature_for(signing_key.encode(), str(timestamp), token)
    envelope = {
        "signature": {"timestamp": str(timestamp), "token": token, "signature": signature},
        "event-data": event_data,
    }
    return SignedRequest(json.dumps(envelope).encode(), {"Content-Type": "application/json"})


def sign_svix(secret: str, message_id: str, timestamp: int, body: bytes) -> SignedRequest:
    signature = resend.svix_signature(resend.svix_key(secret), message_id, str(timestamp), body)
    headers = {
        "svix-id": message_id,
        "svix-timestamp": str(timestamp),
        "svix-signature": f"v1,{signature}",
        "Content-Type": "application/json",
    }
    return SignedRequest(body, headers)


def new_svix_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign_mandrill(key: str, url: str, events: list[dict[str, Any]]) -> SignedRequest:
    fields = [(mandrill.EVENTS_FIELD, json.dumps(events))]
    signature = mandrill.mandrill_signature(key.encode(), url, fields)
    return SignedRequest(
        urlencode(fields).encode(),
        {mandrill.SIGNATURE_HEADER: signature, "Content-Type": "application/x-www-form-urlencoded"},
    )


class SnsSigner:
    """A self-made SNS signing certificate for one region, placed in a cert dir under its pinned URL.

    Pointing ``SES_SNS_CERT_DIR`` at ``cert_dir`` makes the ingest trust it without any fetch; the host
    and path rules still apply, which is why the certificate sits under a real-looking SNS URL.
    """

    def __init__(self, cert_dir: Path, region: str = "us-east-1") -> None:
        self.region = region
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        host = f"sns.{region}.amazonaws.com"
        name = f"SimpleNotificationService-{secrets.token_hex(16)}.pem"
        self.cert_url = f"https://{host}/{name}"
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .sign(self.private_key, SHA256())
        )
        (cert_dir / host).mkdir(parents=True, exist_ok=True)
        (cert_dir / host / name).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def sign(self, message: dict[str, Any], version: str = "2") -> SignedRequest:
        """Fill SignatureVersion, SigningCertURL and Signature into an SNS message and serialize it."""
        signed = {**message, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        hash_type = ses.HASHES[version]()
        signature = self.private_key.sign(ses.canonical_string(signed), PKCS1v15(), hash_type)
        signed["Signature"] = base64.b64encode(signature).decode()
        headers = {
            "x-amz-sns-message-type": str(signed.get("Type")),
            "x-amz-sns-message-id": str(signed.get("MessageId")),
            "x-amz-sns-topic-arn": str(signed.get("TopicArn")),
            "Content-Type": "text/plain; charset=UTF-8",
        }
        return SignedRequest(json.dumps(signed).encode(), headers)


def sns_notification(
    topic_arn: str, ses_message: dict[str, Any], message_id: str, at: datetime
) -> dict[str, Any]:
    """The SNS envelope SES publishes to an HTTPS subscription (before signing)."""
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic_arn,
        "Message": json.dumps(ses_message),
        "Timestamp": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


BASIC_AUTH_PROVIDERS = frozenset({"postmark", "sparkpost", "mailjet", "brevo"})
LEGACY_FORM = "form"
"""An event given as ``{"form": {...}}`` is posted as Mailgun's legacy form-encoded webhook."""


@dataclass(frozen=True)
class WebhookSigners:
    """Credentials for all nine providers, and one event posted the way each provider posts it.

    ``settings()`` is what the ingest needs to accept them (``WebhookCredentials`` field names).
    """

    sendgrid: SendGridSigner
    sns: SnsSigner
    topic_arn: str
    mailgun_key: str
    basic_auth: str
    svix_secret: str
    mandrill_key: str
    mandrill_url: str

    @classmethod
    def create(cls, cert_dir: Path, region: str = "us-east-1") -> "WebhookSigners":
        return cls(
            sendgrid=SendGridSigner(),
            sns=SnsSigner(cert_dir, region),
            topic_arn=f"arn:aws:sns:{region}:123456789012:ses-feedback",
            mailgun_key=secrets.token_hex(16),
            basic_auth=f"esp:{secrets.token_urlsafe(12)}",
            svix_secret=new_svix_secret(),
            mandrill_key=secrets.token_urlsafe(16),
            mandrill_url="https://hooks.seevee.test/v1/webhooks/mandrill",
        )

    def settings(self, cert_dir: Path) -> dict[str, Any]:
        return {
            "sendgrid_webhook_public_key": self.sendgrid.public_key_b64,
            "mailgun_webhook_signing_key": self.mailgun_key,
            **{f"{name}_webhook_basic_auth": self.basic_auth for name in BASIC_AUTH_PROVIDERS},
            "ses_sns_topic_arns": self.topic_arn,
            "ses_sns_cert_dir": cert_dir,
            "resend_webhook_secret": self.svix_secret,
            "mandrill_webhook_key": self.mandrill_key,
            "mandrill_webhook_url": self.mandrill_url,
        }

    def post(self, provider: str, event: Any, event_id: str, at: datetime) -> SignedRequest:
        """One provider event (a batch item, SES's notification, Mailgun's ``event-data``) as posted."""
        timestamp = int(at.timestamp())
        if provider == "sendgrid":
            return self.sendgrid.sign([event], timestamp)
        if provider == "mailgun":
            if isinstance(event, dict) and LEGACY_FORM in event:
                return self._mailgun_form(event[LEGACY_FORM], timestamp, event_id)
            return sign_mailgun(self.mailgun_key, event, timestamp, token=event_id)
        if provider in BASIC_AUTH_PROVIDERS:
            body = [event] if provider == "sparkpost" else event
            headers = {**basic_auth_headers(self.basic_auth), "Content-Type": "application/json"}
            return SignedRequest(json.dumps(body).encode(), headers)
        if provider == "ses":
            return self.sns.sign(sns_notification(self.topic_arn, event, event_id, at))
        if provider == "resend":
            return sign_svix(self.svix_secret, event_id, timestamp, json.dumps(event).encode())
        if provider == "mandrill":
            return sign_mandrill(self.mandrill_key, self.mandrill_url, [event])
        raise ValueError(f"no such provider {provider!r}")

    def _mailgun_form(self, fields: dict[str, str], timestamp: int, token: str) -> SignedRequest:
        signature = mailgun.signature_for(self.mailgun_key.encode(), str(timestamp), token)
        signed = {**fields, "timestamp": str(timestamp), "token": token, "signature": signature}
        return SignedRequest(
            urlencode(signed).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        )
