"""Composition root: the task-service app with its store, consumer, outbox relay and API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from seevee_shared.service import build_service
from task_service import api
from task_service.handlers import handlers
from task_service.settings import TaskSettings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def create_app(settings: TaskSettings | None = None) -> FastAPI:
    settings = settings or TaskSettings()
    return build_service(
        name="task-service",
        settings=settings,
        handlers=handlers(settings),
        routers=[api.router],
        migrations_dir=MIGRATIONS_DIR,
        description="Opens a follow-up task with the next step for each bounced contact.",
    )
