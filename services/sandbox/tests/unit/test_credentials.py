"""Dev credentials: made once, stable afterwards, and the env hands the ingest exactly the verifying half."""

import base64
import json
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_der_public_key

from sandbox.credentials import SECRETS_FILE, dev_environment, load_or_create, sandbox_dir


def public_numbers(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def test_credentials_are_made_once_and_then_reused(tmp_path: Path) -> None:
    first = load_or_create(tmp_path)
    second = load_or_create(tmp_path)

    assert second.sendgrid_public_key == first.sendgrid_public_key
    assert public_numbers(second.sns_key.public_key()) == public_numbers(first.sns_key.public_key())
    assert second.sns_cert_url == first.sns_cert_url
    assert second.shared_secrets == first.shared_secrets
    assert [p.name for p in tmp_path.iterdir()] == ["sandbox"]  # no staging folder left behind


def test_an_interrupted_first_run_is_made_again(tmp_path: Path) -> None:
    (sandbox_dir(tmp_path) / "sns-certificates").mkdir(parents=True)

    credentials = load_or_create(tmp_path)

    assert (sandbox_dir(tmp_path) / SECRETS_FILE).is_file()
    assert credentials.sns_cert_dir.is_dir()


def test_the_sendgrid_key_is_shown_as_sendgrid_shows_it(tmp_path: Path) -> None:
    env = dev_environment(tmp_path)
    credentials = load_or_create(tmp_path)

    key = load_der_public_key(base64.b64decode(env["SENDGRID_WEBHOOK_PUBLIC_KEY"], validate=True))
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert key.curve.name == "secp256r1"
    assert public_numbers(key) == public_numbers(credentials.sendgrid_key.public_key())


def test_the_sns_certificate_sits_under_its_pinned_url_and_holds_the_signing_key(tmp_path: Path) -> None:
    env = dev_environment(tmp_path)
    credentials = load_or_create(tmp_path)
    url = urlsplit(credentials.sns_cert_url)
    region = env["SES_SNS_TOPIC_ARNS"].split(":")[3]

    assert url.scheme == "https"
    assert url.hostname == f"sns.{region}.amazonaws.com"
    assert url.path.startswith("/SimpleNotificationService-") and url.path.endswith(".pem")
    pem = Path(env["SES_SNS_CERT_DIR"], url.hostname, url.path.lstrip("/")).read_bytes()
    certificate = x509.load_pem_x509_certificate(pem)
    assert public_numbers(certificate.public_key()) == public_numbers(credentials.sns_key.public_key())


def test_the_environment_carries_every_providers_dev_secret(tmp_path: Path) -> None:
    env = dev_environment(tmp_path)
    stored = json.loads((sandbox_dir(tmp_path) / SECRETS_FILE).read_text())

    assert env["SES_SNS_TOPIC_ARNS"].startswith("arn:aws:sns:")
    assert Path(env["SES_SNS_CERT_DIR"]).is_absolute()
    assert env["DNS_CHECK_ENABLED"] == "false"
    for variable in ("POSTMARK", "SPARKPOST", "MAILJET", "BREVO"):
        user, _, password = env[f"{variable}_WEBHOOK_BASIC_AUTH"].partition(":")
        assert user and password
    assert env["RESEND_WEBHOOK_SECRET"].startswith("whsec_")
    assert env["MAILGUN_WEBHOOK_SIGNING_KEY"] == stored["shared_secrets"]["MAILGUN_WEBHOOK_SIGNING_KEY"]
    assert all(value for value in env.values())
