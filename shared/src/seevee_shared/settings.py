"""Settings every service shares; each service subclasses this with its own store and rules."""

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from seevee_shared.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_MAX_LIFETIME_SECONDS

DEV_JWT_SECRET = "dev-secret-change-me"


class UnsafeSettingsError(RuntimeError):
    """A production service was configured with a development shortcut."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers")
    )
    jwt_secret: SecretStr = Field(
        SecretStr(DEV_JWT_SECRET), validation_alias=AliasChoices("SEEVEE_JWT_SECRET", "jwt_secret")
    )
    jwt_issuer: str = Field(DEFAULT_ISSUER, validation_alias=AliasChoices("SEEVEE_JWT_ISSUER", "jwt_issuer"))
    jwt_audience: str = Field(
        DEFAULT_AUDIENCE, validation_alias=AliasChoices("SEEVEE_JWT_AUDIENCE", "jwt_audience")
    )
    jwt_max_lifetime_seconds: int = Field(
        DEFAULT_MAX_LIFETIME_SECONDS,
        gt=0,
        validation_alias=AliasChoices("SEEVEE_JWT_MAX_LIFETIME_SECONDS", "jwt_max_lifetime_seconds"),
    )
    """A token whose ``exp`` lies further ahead than this is refused (401), however well it is signed."""
    database_url: str = "sqlite+aiosqlite:///var/service.db"
    topic_partitions: int = Field(6, validation_alias=AliasChoices("TOPIC_PARTITIONS", "topic_partitions"))
    consumer_group: str | None = Field(
        None, validation_alias=AliasChoices("CONSUMER_GROUP", "consumer_group")
    )
    consumer_instance_id: str | None = Field(
        None, validation_alias=AliasChoices("CONSUMER_INSTANCE_ID", "consumer_instance_id")
    )
    """Kafka static membership: a stable name per replica (a pod name, ``<service>-<n>``), unique in its
    group. A replica restarted under the same name takes its partitions back at once instead of
    waiting out the dead member's session; unset, membership is dynamic."""
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

    # Production: development shortcuts, topics, Kafka security, database pools.
    dev: bool = Field(False, validation_alias=AliasChoices("SEEVEE_DEV", "dev"))
    migrate_on_start: bool = Field(
        True, validation_alias=AliasChoices("MIGRATE_ON_START", "migrate_on_start")
    )
    topic_create: bool = Field(True, validation_alias=AliasChoices("TOPIC_CREATE", "topic_create"))
    topic_replication_factor: int = Field(
        1, ge=1, validation_alias=AliasChoices("TOPIC_REPLICATION_FACTOR", "topic_replication_factor")
    )
    topic_retention_ms: int | None = Field(
        None, validation_alias=AliasChoices("TOPIC_RETENTION_MS", "topic_retention_ms")
    )
    dlq_retention_ms: int | None = Field(
        30 * 24 * 3600 * 1000, validation_alias=AliasChoices("DLQ_RETENTION_MS", "dlq_retention_ms")
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias=AliasChoices("KAFKA_SECURITY_PROTOCOL", "kafka_security_protocol")
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", validation_alias=AliasChoices("KAFKA_SASL_MECHANISM", "kafka_sasl_mechanism")
    )
    kafka_sasl_username: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SASL_USERNAME", "kafka_sasl_username")
    )
    kafka_sasl_password: SecretStr | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SASL_PASSWORD", "kafka_sasl_password")
    )
    kafka_ssl_cafile: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SSL_CAFILE", "kafka_ssl_cafile")
    )
    kafka_ssl_certfile: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SSL_CERTFILE", "kafka_ssl_certfile")
    )
    kafka_ssl_keyfile: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SSL_KEYFILE", "kafka_ssl_keyfile")
    )
    db_pool_size: int = Field(10, ge=1, validation_alias=AliasChoices("DB_POOL_SIZE", "db_pool_size"))
    db_max_overflow: int = Field(
        10, ge=0, validation_alias=AliasChoices("DB_MAX_OVERFLOW", "db_max_overflow")
    )
    db_pool_timeout_seconds: float = Field(
        30.0, gt=0, validation_alias=AliasChoices("DB_POOL_TIMEOUT_SECONDS", "db_pool_timeout_seconds")
    )

    def refuse_unsafe_production(self) -> None:
        """Outside development, the dev JWT secret would let anyone mint a token: refuse to start."""
        if not self.dev and self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
            raise UnsafeSettingsError(
                "SEEVEE_JWT_SECRET is the development secret: set a real one, or SEEVEE_DEV=true on a laptop"
            )
