"""Settings of the task-service, read from the environment (and `.env`)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from seevee_shared.settings import ServiceSettings


class TaskSettings(ServiceSettings):
    database_url: str = Field(
        "sqlite+aiosqlite:///var/task-service.db",
        validation_alias=AliasChoices("TASKS_DATABASE_URL", "database_url"),
    )
