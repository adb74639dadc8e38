"""refund-service settings, from the environment."""

from pydantic import AliasChoices, Field

from seevee_shared.settings import ServiceSettings


class RefundSettings(ServiceSettings):
    database_url: str = Field(
        "sqlite+aiosqlite:///var/refund-service.db",
        validation_alias=AliasChoices("REFUNDS_DATABASE_URL", "database_url"),
    )
    refund_window_days: int = Field(
        30, ge=0, validation_alias=AliasChoices("REFUND_WINDOW_DAYS", "refund_window_days")
    )
    spike_min_contacts: int = Field(
        5, ge=1, validation_alias=AliasChoices("SPIKE_MIN_CONTACTS", "spike_min_contacts")
    )
    spike_min_rate: float = Field(
        0.2, ge=0, le=1, validation_alias=AliasChoices("SPIKE_MIN_RATE", "spike_min_rate")
    )
    spike_window_days: int = Field(
        7, ge=1, validation_alias=AliasChoices("SPIKE_WINDOW_DAYS", "spike_window_days")
    )
    dns_check_enabled: bool = Field(
        True, validation_alias=AliasChoices("DNS_CHECK_ENABLED", "dns_check_enabled")
    )
    dns_nameserver: str | None = Field(
        None, validation_alias=AliasChoices("DNS_NAMESERVER", "dns_nameserver")
    )  # "host:port"; the system resolver when unset
    dns_timeout_seconds: float = Field(
        3.0, gt=0, validation_alias=AliasChoices("DNS_TIMEOUT_SECONDS", "dns_timeout_seconds")
    )
    dns_cache_seconds: float = Field(
        300.0, ge=0, validation_alias=AliasChoices("DNS_CACHE_SECONDS", "dns_cache_seconds")
    )
