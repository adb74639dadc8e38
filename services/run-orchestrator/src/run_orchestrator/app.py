"""Composition root: the run-orchestrator service with its consumers, API and scheduler."""

from pathlib import Path

from fastapi import FastAPI

from run_orchestrator import api
from run_orchestrator.handlers import handlers
from run_orchestrator.scheduler import run_scheduler
from run_orchestrator.settings import RunSettings
from seevee_shared.service import build_service

NAME = "run-orchestrator"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings: RunSettings | None = None) -> FastAPI:
    settings = settings or RunSettings()
    return build_service(
        name=NAME,
        settings=settings,
        handlers=handlers(settings),
        routers=[api.router],
        migrations_dir=MIGRATIONS,
        background=[run_scheduler],
        description="Runs and their steps: schedules sends, pauses on bounces, stop and restart.",
    )
