"""The thread-service's settings, from the environment (a ``.env`` file is read if present)."""

from pydantic import AliasChoices, Field

from seevee_shared.settings import ServiceSettings


class ThreadSettings(ServiceSettings):
    database_url: str = Field(
        "sqlite+aiosqlite:///var/thread-service.db",
        validation_alias=AliasChoices("THREADS_DATABASE_URL", "database_url"),
    )
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("THREADS_HOST", "host"))
    port: int = Field(8004, validation_alias=AliasChoices("THREADS_PORT", "port"))
