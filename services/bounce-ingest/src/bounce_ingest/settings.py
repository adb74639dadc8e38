"""bounce-ingest settings: its store, the unmatched wait, and every provider's webhook credentials."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from bounce_ingest.providers.credentials import WebhookCredentials
from seevee_shared.settings import ServiceSettings


class IngestSettings(ServiceSettings, WebhookCredentials):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///var/bounce-ingest.db",
        validation_alias=AliasChoices("INGEST_DATABASE_URL", "database_url"),
    )
    unmatched_wait_seconds: float = Field(
        900, ge=0, validation_alias=AliasChoices("UNMATCHED_WAIT_SECONDS", "unmatched_wait_seconds")
    )
    """How long a bounce waits for its ``message.sent`` before it goes out as ``bounce.unmatched``."""
    unmatched_sweep_seconds: float = Field(
        30, gt=0, validation_alias=AliasChoices("UNMATCHED_SWEEP_SECONDS", "unmatched_sweep_seconds")
    )
    """How often waiting bounces and complaints are looked at again."""
    parse_workers: int = Field(
        2, ge=1, validation_alias=AliasChoices("INGEST_PARSE_WORKERS", "parse_workers")
    )
    """Processes that parse raw bounce emails (off the event loop); one email at a time each."""
    parse_timeout_seconds: float = Field(
        1.5, gt=0, validation_alias=AliasChoices("INGEST_PARSE_TIMEOUT_SECONDS", "parse_timeout_seconds")
    )
    """A bounce email that takes longer to classify is refused (422) and its parser process replaced."""
    sns_fetch_timeout_seconds: float = Field(
        10, gt=0, validation_alias=AliasChoices("SNS_FETCH_TIMEOUT_SECONDS", "sns_fetch_timeout_seconds")
    )
