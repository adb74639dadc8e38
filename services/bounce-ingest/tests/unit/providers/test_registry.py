"""The registry and the credentials built from the environment: unconfigured providers reject everything."""

from pathlib import Path

import pytest

from bounce_ingest.providers import PROVIDERS
from bounce_ingest.providers.base import Unauthorized
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials
from bounce_ingest.providers.replay import MemoryReplayGuard
from bounce_ingest.providers.signing import SendGridSigner, new_svix_secret

NINE = {"sendgrid", "mailgun", "postmark", "ses", "sparkpost", "mailjet", "brevo", "resend", "mandrill"}


def runtime(settings: WebhookCredentials, fetcher) -> ProviderRuntime:
    return ProviderRuntime.build(settings, fetcher, MemoryReplayGuard())


def test_all_nine_are_registered_under_their_names() -> None:
    assert set(PROVIDERS) == NINE
    assert all(provider.name == name for name, provider in PROVIDERS.items())


@pytest.mark.parametrize("name", sorted(NINE))
async def test_without_configuration_every_request_is_unauthorized(
    monkeypatch, tmp_path: Path, make_request, fetcher, now, name: str
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    settings = WebhookCredentials()
    provider = PROVIDERS[name]
    credentials = provider.credentials(settings, runtime(settings, fetcher))
    assert credentials is None
    with pytest.raises(Unauthorized):
        await provider.verify(make_request(b"[]"), credentials, now)
    assert provider.responses.unauthorized == 401


def test_environment_names(monkeypatch, tmp_path: Path, fetcher) -> None:
    monkeypatch.chdir(tmp_path)
    signer = SendGridSigner()
    environment = {
        "SENDGRID_WEBHOOK_PUBLIC_KEY": signer.public_key_b64,
        "MAILGUN_WEBHOOK_SIGNING_KEY": "mg-key",
        "POSTMARK_WEBHOOK_BASIC_AUTH": "pm:secret",
        "SPARKPOST_WEBHOOK_BASIC_AUTH": "sp:secret",
        "MAILJET_WEBHOOK_BASIC_AUTH": "mj:secret",
        "BREVO_WEBHOOK_BASIC_AUTH": "br:secret",
        "SES_SNS_TOPIC_ARNS": "arn:aws:sns:us-east-1:1:a, arn:aws:sns:eu-west-1:1:b",
        "SES_SNS_CERT_DIR": str(tmp_path),
        "RESEND_WEBHOOK_SECRET": new_svix_secret(),
        "MANDRILL_WEBHOOK_KEY": "md-key",
        "MANDRILL_WEBHOOK_URL": "https://hooks.example.com/mandrill",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = WebhookCredentials()
    shared = runtime(settings, fetcher)
    built = {name: provider.credentials(settings, shared) for name, provider in PROVIDERS.items()}
    assert all(credentials is not None for credentials in built.values())
    assert built["ses"].topic_arns == frozenset({"arn:aws:sns:us-east-1:1:a", "arn:aws:sns:eu-west-1:1:b"})
    assert built["mandrill"].url == "https://hooks.example.com/mandrill"
    assert built["postmark"].user == "pm"


@pytest.mark.parametrize(
    ("name", "status"),
    [("mailgun", 406), ("postmark", 403), ("ses", 400), ("sendgrid", 400)],
)
def test_bad_payload_answers_stop_retries_where_the_provider_allows(name: str, status: int) -> None:
    assert PROVIDERS[name].responses.bad_payload == status


def test_transient_answers_ask_for_a_retry() -> None:
    assert {PROVIDERS[name].responses.transient for name in NINE} == {503, 429}
    assert PROVIDERS["brevo"].responses.transient == 429
