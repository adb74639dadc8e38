"""HTTP Basic credentials, for the providers that sign nothing (Postmark, SparkPost, Mailjet, Brevo)."""

import base64
import binascii
import hmac
from dataclasses import dataclass

from bounce_ingest.providers.base import Unauthorized, WebhookRequest


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    user: str
    password: str

    @classmethod
    def from_setting(cls, value: str | None) -> "BasicCredentials | None":
        """``user:password`` as configured; the password may itself contain colons."""
        if value is None:
            return None
        user, separator, password = value.partition(":")
        if not separator or not user or not password:
            raise ValueError("webhook basic auth must be 'user:password'")
        return cls(user, password)

    def header(self) -> str:
        """The ``Authorization`` value a provider sends for these credentials."""
        return "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()


def check_basic(request: WebhookRequest, credentials: BasicCredentials | None, provider: str) -> None:
    """Constant-time comparison of the whole ``user:password`` pair."""
    if credentials is None:
        raise Unauthorized(f"{provider} webhooks are not configured")
    scheme, _, encoded = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized("basic credentials missing")
    try:
        presented = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise Unauthorized("basic credentials are not base64") from error
    expected = f"{credentials.user}:{credentials.password}".encode()
    if not hmac.compare_digest(presented, expected):
        raise Unauthorized("basic credentials do not match")
