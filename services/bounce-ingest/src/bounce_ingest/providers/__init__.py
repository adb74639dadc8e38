"""The webhook providers: one module per ESP, each registered here under its URL name.

The endpoint builds each provider's credentials once (``provider.credentials(settings, runtime)``),
then per request calls ``await provider.verify(request, credentials, now)`` and ``provider.parse(request)``
and answers with ``provider.responses``.
"""

from typing import Any

from bounce_ingest.providers import (
    brevo,
    mailgun,
    mailjet,
    mandrill,
    postmark,
    resend,
    sendgrid,
    ses,
    sparkpost,
)
from bounce_ingest.providers.provider import Provider

PROVIDERS: dict[str, Provider[Any]] = {
    sendgrid.NAME: sendgrid.PROVIDER,
    mailgun.NAME: mailgun.PROVIDER,
    postmark.NAME: postmark.PROVIDER,
    ses.NAME: ses.PROVIDER,
    sparkpost.NAME: sparkpost.PROVIDER,
    mailjet.NAME: mailjet.PROVIDER,
    brevo.NAME: brevo.PROVIDER,
    resend.NAME: resend.PROVIDER,
    mandrill.NAME: mandrill.PROVIDER,
}
