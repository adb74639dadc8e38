"""The sandbox's signatures are the providers' own schemes: checked against signatures SendGrid and AWS
produced, and by verifying our own with nothing but ``cryptography``."""

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.serialization import load_der_public_key

from sandbox.signing import (
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    SNS_HASHES,
    sendgrid_signed_bytes,
    sign_sendgrid,
    sign_sns,
    sns_canonical_string,
)
from seevee_shared.reference_data import shared_dir

CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123abcd.pem"


def reference(*parts: str) -> Path:
    path = shared_dir().joinpath("webhooks", *parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is not available")
    return path


def notification(**changes: Any) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": "5f0e8a1e-2b67-4d3f-9f67-1d2f0c1b2a3e",
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:sandbox",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps({"eventType": "Bounce"}),
        "Timestamp": "2026-11-26T12:00:00.000Z",
        **changes,
    }


def test_the_signed_bytes_are_sendgrids_timestamp_then_body() -> None:
    vector = json.loads(reference("sendgrid", "sig_test_vector.json").read_text())
    key = load_der_public_key(base64.b64decode(vector["public_key_b64_spki"]))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    body = reference("sendgrid", "sig_test_vector_body.bin").read_bytes()
    signed = sendgrid_signed_bytes(vector["header_X-Twilio-Email-Event-Webhook-Timestamp"], body)
    signature = base64.b64decode(vector["header_X-Twilio-Email-Event-Webhook-Signature"])

    key.verify(signature, signed, ec.ECDSA(SHA256()))


def test_a_sendgrid_batch_verifies_with_the_public_key_and_only_for_its_timestamp() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    request = sign_sendgrid(key, [{"event": "bounce", "email": "a@b.example"}], 1_700_000_000)
    signature = base64.b64decode(request.headers[SENDGRID_SIGNATURE_HEADER])
    timestamp = request.headers[SENDGRID_TIMESTAMP_HEADER]

    assert request.body.endswith(b"\r\n")
    assert json.loads(request.body) == [{"event": "bounce", "email": "a@b.example"}]
    key.public_key().verify(signature, sendgrid_signed_bytes(timestamp, request.body), ec.ECDSA(SHA256()))
    with pytest.raises(InvalidSignature):
        later = sendgrid_signed_bytes("1700000999", request.body)
        key.public_key().verify(signature, later, ec.ECDSA(SHA256()))


@pytest.mark.parametrize("version", ["1", "2"])
def test_the_canonical_string_is_what_aws_signed(version: str) -> None:
    message = json.loads(reference("ses", "sns_vectors", f"sns_notification_sigv{version}.json").read_text())
    pem_name = message["SigningCertURL"].rsplit("/", 1)[1]
    certificate = x509.load_pem_x509_certificate(reference("ses", "sns_vectors", pem_name).read_bytes())
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)

    signature = base64.b64decode(message["Signature"])
    public_key.verify(signature, sns_canonical_string(message), PKCS1v15(), SNS_HASHES[version]())


def test_the_canonical_string_lists_the_signed_fields_in_order_and_skips_absent_ones() -> None:
    message = notification(UnsubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe")
    del message["Subject"]

    assert sns_canonical_string(message) == (
        b'Message\n{"eventType": "Bounce"}\n'
        b"MessageId\n5f0e8a1e-2b67-4d3f-9f67-1d2f0c1b2a3e\n"
        b"Timestamp\n2026-11-26T12:00:00.000Z\n"
        b"TopicArn\narn:aws:sns:us-east-1:000000000000:sandbox\n"
        b"Type\nNotification\n"
    )


def test_an_unknown_sns_type_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="does not sign"):
        sns_canonical_string(notification(Type="Surprise"))


def test_an_sns_notification_verifies_with_the_certificate_key_and_not_once_changed() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    request = sign_sns(key, CERT_URL, notification())
    posted = json.loads(request.body)
    signature = base64.b64decode(posted["Signature"])

    assert posted["SignatureVersion"] == "2"
    assert posted["SigningCertURL"] == CERT_URL
    assert request.headers["x-amz-sns-message-type"] == "Notification"
    assert request.headers["x-amz-sns-topic-arn"] == posted["TopicArn"]
    key.public_key().verify(signature, sns_canonical_string(posted), PKCS1v15(), SHA256())
    tampered = {**posted, "Message": json.dumps({"eventType": "Delivery"})}
    with pytest.raises(InvalidSignature):
        key.public_key().verify(signature, sns_canonical_string(tampered), PKCS1v15(), SHA256())
