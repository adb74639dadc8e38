"""The run-orchestrator's settings: its store, the bounce policy and the scheduler's pace."""

from pydantic import AliasChoices, Field

from seevee_shared.settings import ServiceSettings


class RunSettings(ServiceSettings):
    database_url: str = Field(
        "sqlite+aiosqlite:///var/run-orchestrator.db",
        validation_alias=AliasChoices("ORCHESTRATOR_DATABASE_URL", "database_url"),
    )
    run_max_bounces: int = Field(3, ge=1, validation_alias=AliasChoices("RUN_MAX_BOUNCES", "run_max_bounces"))
    soft_bounce_auto_restart_hours: float | None = Field(
        None,
        gt=0,
        validation_alias=AliasChoices("SOFT_BOUNCE_AUTO_RESTART_HOURS", "soft_bounce_auto_restart_hours"),
    )
    scheduler_interval_seconds: float = Field(
        1.0, gt=0, validation_alias=AliasChoices("SCHEDULER_INTERVAL_SECONDS", "scheduler_interval_seconds")
    )
    scheduler_batch_size: int = Field(
        500, ge=1, validation_alias=AliasChoices("SCHEDULER_BATCH_SIZE", "scheduler_batch_size")
    )
