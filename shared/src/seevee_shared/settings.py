"""Settings every service shares; each service subclasses this with its own store and rules."""

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers")
    )
    jwt_secret: str = Field(
        "dev-secret-change-me", validation_alias=AliasChoices("SEEVEE_JWT_SECRET", "jwt_secret")
    )
    database_url: str = "sqlite+aiosqlite:///var/service.db"
    topic_partitions: int = Field(6, validation_alias=AliasChoices("TOPIC_PARTITIONS", "topic_partitions"))
    consumer_group: str | None = Field(
        None, validation_alias=AliasChoices("CONSUMER_GROUP", "consumer_group")
    )
    consumer_max_records: int = Field(
        500, validation_alias=AliasChoices("CONSUMER_MAX_RECORDS", "consumer_max_records")
    )
    consumer_max_attempts: int = Field(
        5, validation_alias=AliasChoices("CONSUMER_MAX_ATTEMPTS", "consumer_max_attempts")
    )
    retry_backoff_seconds: float = Field(
        0.2, validation_alias=AliasChoices("RETRY_BACKOFF_SECONDS", "retry_backoff_seconds")
    )
    outbox_poll_seconds: float = Field(
        0.05, validation_alias=AliasChoices("OUTBOX_POLL_SECONDS", "outbox_poll_seconds")
    )
    outbox_batch_size: int = Field(
        1000, validation_alias=AliasChoices("OUTBOX_BATCH_SIZE", "outbox_batch_size")
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("LOG_LEVEL", "log_level"))
