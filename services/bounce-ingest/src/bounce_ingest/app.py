"""Composition root: settings, store, provider credentials, consumers, the unmatched sweep, the API."""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from bounce_ingest import api
from bounce_ingest.dsn.budget import EmailBudget
from bounce_ingest.handlers import handlers
from bounce_ingest.parse_workers import ParseWorkers
from bounce_ingest.providers import PROVIDERS
from bounce_ingest.providers.credentials import ProviderRuntime
from bounce_ingest.providers.sns_certificates import SnsCertificates
from bounce_ingest.release_unmatched import sweep_unmatched
from bounce_ingest.replay_tokens import StoredReplayGuard
from bounce_ingest.settings import IngestSettings
from bounce_ingest.sns_fetcher import HttpxSnsFetcher
from seevee_shared.service import build_service

NAME = "bounce-ingest"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    app = build_service(
        name=NAME,
        settings=settings,
        handlers=handlers(settings),
        routers=[api.router],
        migrations_dir=MIGRATIONS,
        background=[sweep_unmatched],
        description="Turns provider webhooks and raw bounce emails into message.bounced events.",
    )
    fetcher = HttpxSnsFetcher(settings.sns_fetch_timeout_seconds)
    runtime = ProviderRuntime(
        replay_guard=StoredReplayGuard(app.state.db),
        sns_fetcher=fetcher,
        sns_certificates=SnsCertificates.from_dir(fetcher, settings.ses_sns_cert_dir),
    )
    # Built once: a malformed key stops the service at start instead of failing every webhook.
    credentials: dict[str, Any] = {
        name: provider.credentials(settings, runtime) for name, provider in PROVIDERS.items()
    }
    app.state.webhook_credentials = credentials
    app.state.email_budget = EmailBudget(max_bytes=api.BODY_LIMIT)
    app.state.parse_workers = ParseWorkers(settings.parse_workers, settings.parse_timeout_seconds)
    _close_on_stop(app)
    return app


def _close_on_stop(app: FastAPI) -> None:
    """The parser processes end with the service (after the shared lifespan has stopped the rest)."""
    service_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with service_lifespan(app):
                yield
        finally:
            app.state.parse_workers.close()

    app.router.lifespan_context = lifespan


def main() -> None:
    """``python -m bounce_ingest.app``: serve on ``INGEST_PORT`` (8001)."""
    import os

    import uvicorn

    uvicorn.run(
        "bounce_ingest.app:create_app",
        factory=True,
        host="0.0.0.0",  # noqa: S104 - a service listens on all interfaces
        port=int(os.environ.get("INGEST_PORT", "8001")),
    )


if __name__ == "__main__":
    main()
