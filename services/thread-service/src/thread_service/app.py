"""Composition root: the thread-service app with its tables, reactions and API."""

from pathlib import Path

from fastapi import FastAPI

from seevee_shared.service import build_service
from thread_service import api
from thread_service.handlers import handlers
from thread_service.settings import ThreadSettings

NAME = "thread-service"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(settings: ThreadSettings | None = None) -> FastAPI:
    settings = settings or ThreadSettings()
    return build_service(
        name=NAME,
        settings=settings,
        handlers=handlers(settings),
        routers=[api.router],
        migrations_dir=MIGRATIONS_DIR,
        description="Threads and their messages, labelled bounced or complained with the reason.",
    )
