"""Webhook secrets from the environment (ARCHITECTURE 6) and the runtime pieces verification leans on.

No secret has a default: a provider left unconfigured rejects every request.
"""

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bounce_ingest.providers.replay import ReplayGuard
from bounce_ingest.providers.sns_certificates import SnsCertificates, SnsFetcher


class WebhookCredentials(BaseSettings):
    """One field per environment variable; the service settings include this model."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    sendgrid_webhook_public_key: SecretStr | None = None
    """Base64 DER public key(s) as SendGrid shows them; several (one per webhook) separated by commas."""
    mailgun_webhook_signing_key: SecretStr | None = None
    postmark_webhook_basic_auth: SecretStr | None = None
    sparkpost_webhook_basic_auth: SecretStr | None = None
    mailjet_webhook_basic_auth: SecretStr | None = None
    brevo_webhook_basic_auth: SecretStr | None = None
    ses_sns_topic_arns: str = ""
    """Allowed TopicArns, separated by commas or whitespace."""
    ses_sns_cert_dir: Path | None = None
    ses_sns_max_age_seconds: float = Field(3600, gt=0)
    """An SNS notification signed longer ago than this is refused as a replay (keep retries within it)."""
    resend_webhook_secret: SecretStr | None = None
    mandrill_webhook_key: SecretStr | None = None
    mandrill_webhook_url: str | None = None
    """The webhook URL exactly as configured at Mandrill; without it the URL as received is signed."""


@dataclass(frozen=True, slots=True)
class ProviderRuntime:
    """Shared pieces with state or I/O, built once by the service and handed to every provider."""

    replay_guard: ReplayGuard
    sns_fetcher: SnsFetcher
    sns_certificates: SnsCertificates

    @classmethod
    def build(
        cls, settings: WebhookCredentials, sns_fetcher: SnsFetcher, replay_guard: ReplayGuard
    ) -> "ProviderRuntime":
        """The SNS certificate cache seeded from ``SES_SNS_CERT_DIR``, fetching through ``sns_fetcher``."""
        certificates = SnsCertificates.from_dir(sns_fetcher, settings.ses_sns_cert_dir)
        return cls(replay_guard=replay_guard, sns_fetcher=sns_fetcher, sns_certificates=certificates)


def configured(secret: SecretStr | None) -> str | None:
    """The secret's value, or None when unset or blank (blank counts as not configured)."""
    if secret is None:
        return None
    value = secret.get_secret_value().strip()
    return value or None
