"""Composition root of the refund-service: ``uvicorn refund_service.app:create_app --factory --port 8005``."""

from pathlib import Path

from fastapi import FastAPI

from refund_service import api
from refund_service.handlers import handlers
from refund_service.mail_hosts import DomainChecker
from refund_service.settings import RefundSettings
from seevee_shared.service import build_service

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(settings: RefundSettings | None = None, checker: DomainChecker | None = None) -> FastAPI:
    settings = settings or RefundSettings()
    return build_service(
        name="refund-service",
        settings=settings,
        handlers=handlers(settings, checker),
        routers=[api.router],
        migrations_dir=MIGRATIONS_DIR,
        description="Refund eligibility of revealed addresses that bounced; employer bounce spikes.",
    )
