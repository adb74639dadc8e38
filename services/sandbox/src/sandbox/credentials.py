"""Dev webhook credentials: made once under ``var/sandbox/``, shared by ``make run`` and ``make demo``.

The stack hands the ingest the verifying half (``dev_environment``); the demo signs with the private
half. Nothing here is a production secret: each checkout makes its own, and ``make clean`` forgets them.
"""

import base64
import contextlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.oid import NameOID

REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_VAR_DIR = REPO_ROOT / "var"
SNS_REGION = "us-east-1"
TOPIC_ARN = f"arn:aws:sns:{SNS_REGION}:000000000000:seevee-sandbox-ses-events"
SNS_HOST = f"sns.{SNS_REGION}.amazonaws.com"
"""The pinned SNS host: the ingest only trusts certificates from it, even when they come from a folder."""

SENDGRID_KEY_FILE = "sendgrid-private-key.pem"
SNS_KEY_FILE = "sns-private-key.pem"
SNS_CERT_DIR = "sns-certificates"
SECRETS_FILE = "secrets.json"
"""Written last: a folder without it is an interrupted first run and is made again."""


@dataclass(frozen=True)
class DevCredentials:
    sendgrid_key: ec.EllipticCurvePrivateKey
    sns_key: rsa.RSAPrivateKey
    sns_cert_url: str
    sns_cert_dir: Path
    topic_arn: str
    shared_secrets: dict[str, str]
    """The other providers' dev secrets (Mailgun, Basic auth, Resend, Mandrill), by environment variable."""

    @property
    def sendgrid_public_key(self) -> str:
        """Base64 of the DER public key: how SendGrid shows its verification key."""
        der = self.sendgrid_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()


def sandbox_dir(var_dir: Path) -> Path:
    return var_dir / "sandbox"


def dev_environment(var_dir: Path = DEFAULT_VAR_DIR) -> dict[str, str]:
    """What the services need to accept the sandbox's webhooks (made on first use).

    ``DNS_CHECK_ENABLED=false`` as well: the demo's employers live at reserved, fictional domains, and a
    real resolver would call every one of them dead.
    """
    credentials = load_or_create(var_dir)
    return {
        "SENDGRID_WEBHOOK_PUBLIC_KEY": credentials.sendgrid_public_key,
        "SES_SNS_TOPIC_ARNS": credentials.topic_arn,
        "SES_SNS_CERT_DIR": str(credentials.sns_cert_dir),
        **credentials.shared_secrets,
        "DNS_CHECK_ENABLED": "false",
    }


def load_or_create(var_dir: Path = DEFAULT_VAR_DIR) -> DevCredentials:
    folder = sandbox_dir(var_dir)
    if not (folder / SECRETS_FILE).is_file():
        _create(folder)
    return load(folder)


def load(folder: Path) -> DevCredentials:
    stored = json.loads((folder / SECRETS_FILE).read_text())
    sendgrid_key = serialization.load_pem_private_key((folder / SENDGRID_KEY_FILE).read_bytes(), None)
    sns_key = serialization.load_pem_private_key((folder / SNS_KEY_FILE).read_bytes(), None)
    if not isinstance(sendgrid_key, ec.EllipticCurvePrivateKey) or not isinstance(sns_key, rsa.RSAPrivateKey):
        raise ValueError(f"the keys in {folder} are not the sandbox's; delete the folder to make new ones")
    return DevCredentials(
        sendgrid_key=sendgrid_key,
        sns_key=sns_key,
        sns_cert_url=stored["sns_cert_url"],
        sns_cert_dir=(folder / SNS_CERT_DIR).resolve(),
        topic_arn=stored["topic_arn"],
        shared_secrets=dict(stored["shared_secrets"]),
    )


def _create(folder: Path) -> None:
    """Build everything in a private folder, then rename it into place: two first runs cannot mix halves."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".sandbox-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        _write_credentials(staging)
        if folder.exists() and not (folder / SECRETS_FILE).is_file():
            shutil.rmtree(folder)
        with contextlib.suppress(OSError):  # another process won the race: its folder stands
            staging.rename(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_credentials(folder: Path) -> None:
    sendgrid_key = ec.generate_private_key(ec.SECP256R1())
    sns_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / SENDGRID_KEY_FILE).write_bytes(_private_pem(sendgrid_key))
    (folder / SNS_KEY_FILE).write_bytes(_private_pem(sns_key))
    cert_name = f"SimpleNotificationService-{secrets.token_hex(16)}.pem"
    (folder / SNS_CERT_DIR / SNS_HOST).mkdir(parents=True)
    (folder / SNS_CERT_DIR / SNS_HOST / cert_name).write_bytes(_self_signed_certificate(sns_key))
    stored = {
        "sns_cert_url": f"https://{SNS_HOST}/{cert_name}",
        "topic_arn": TOPIC_ARN,
        "shared_secrets": _shared_secrets(),
    }
    (folder / SECRETS_FILE).write_text(json.dumps(stored, indent=2) + "\n")


def _shared_secrets() -> dict[str, str]:
    def basic_auth() -> str:
        return f"sandbox:{secrets.token_urlsafe(18)}"

    return {
        "MAILGUN_WEBHOOK_SIGNING_KEY": secrets.token_hex(16),
        "POSTMARK_WEBHOOK_BASIC_AUTH": basic_auth(),
        "SPARKPOST_WEBHOOK_BASIC_AUTH": basic_auth(),
        "MAILJET_WEBHOOK_BASIC_AUTH": basic_auth(),
        "BREVO_WEBHOOK_BASIC_AUTH": basic_auth(),
        "RESEND_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
        "MANDRILL_WEBHOOK_KEY": secrets.token_urlsafe(16),
    }


def _private_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _self_signed_certificate(key: rsa.RSAPrivateKey) -> bytes:
    """A certificate for the SNS signing key; the ingest finds it by its URL in ``SES_SNS_CERT_DIR``."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)
