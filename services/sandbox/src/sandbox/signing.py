"""Sign webhooks the way the providers do, so the ingest's real verification accepts the sandbox's posts.

SendGrid signs ``timestamp + raw body`` with ECDSA P-256 / SHA-256; SNS signs a canonical string of the
message's fields with RSA (v1 SHA-1, v2 SHA-256); Mailgun puts an HMAC-SHA256 (hex) of ``timestamp +
token`` under the account's webhook signing key into the body. All are written from the providers'
documentation; SendGrid's and SNS's are checked in the tests against signatures the providers produced.
"""

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA1, SHA256, HashAlgorithm

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

SNS_SIGNED_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
"""The fields SNS signs per message type, in the (alphabetical) order it concatenates them."""
SNS_HASHES: dict[str, type[HashAlgorithm]] = {"1": SHA1, "2": SHA256}


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What to POST: the exact bytes that were signed, and the headers the provider sends with them."""

    body: bytes
    headers: dict[str, str]


def sendgrid_signed_bytes(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode() + body


def sign_sendgrid(
    key: ec.EllipticCurvePrivateKey, events: list[dict[str, Any]], timestamp: int
) -> SignedRequest:
    """A SendGrid Event Webhook batch: a JSON array ending in CRLF, as SendGrid posts it."""
    body = json.dumps(events, separators=(",", ":")).encode() + b"\r\n"
    signature = key.sign(sendgrid_signed_bytes(str(timestamp), body), ec.ECDSA(SHA256()))
    headers = {
        "Content-Type": "application/json",
        SENDGRID_SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        SENDGRID_TIMESTAMP_HEADER: str(timestamp),
    }
    return SignedRequest(body, headers)


def sns_canonical_string(message: Mapping[str, Any]) -> bytes:
    """``Name\\nvalue\\n`` for each signed field the message has, in SNS's order."""
    fields = SNS_SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise ValueError(f"SNS does not sign messages of type {message.get('Type')!r}")
    return "".join(f"{name}\n{message[name]}\n" for name in fields if message.get(name) is not None).encode()


def sign_sns(
    key: rsa.RSAPrivateKey, cert_url: str, message: Mapping[str, Any], version: str = "2"
) -> SignedRequest:
    """An SNS HTTPS delivery: the message with SignatureVersion, SigningCertURL and Signature filled in."""
    signed: dict[str, Any] = {**message, "SignatureVersion": version, "SigningCertURL": cert_url}
    signature = key.sign(sns_canonical_string(signed), PKCS1v15(), SNS_HASHES[version]())
    signed["Signature"] = base64.b64encode(signature).decode()
    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": str(signed["Type"]),
        "x-amz-sns-message-id": str(signed["MessageId"]),
        "x-amz-sns-topic-arn": str(signed["TopicArn"]),
    }
    return SignedRequest(json.dumps(signed, indent=2).encode(), headers)


def mailgun_signature(signing_key: str, timestamp: str, token: str) -> str:
    return hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def sign_mailgun(
    signing_key: str, event_data: Mapping[str, Any], timestamp: int, token: str | None = None
) -> SignedRequest:
    """A Mailgun v3 JSON webhook: one event, with ``signature`` {timestamp, token, signature} beside it."""
    token = token or secrets.token_hex(25)
    signature = {
        "timestamp": str(timestamp),
        "token": token,
        "signature": mailgun_signature(signing_key, str(timestamp), token),
    }
    body = json.dumps({"signature": signature, "event-data": dict(event_data)}).encode()
    return SignedRequest(body, {"Content-Type": "application/json"})
