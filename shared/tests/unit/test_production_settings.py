"""Production settings: the dev-secret refusal, Kafka security for both clients, topic configs."""

import ssl

import pytest

from seevee_shared.kafka_admin import _topic_configs
from seevee_shared.kafka_security import broker_security, client_options
from seevee_shared.service import ServiceRuntime
from seevee_shared.settings import DEV_JWT_SECRET, ServiceSettings, UnsafeSettingsError


@pytest.mark.parametrize(
    ("secret", "dev", "refused"),
    [
        (DEV_JWT_SECRET, False, True),
        (DEV_JWT_SECRET, True, False),
        ("a-real-secret-of-a-realistic-length-0123456789", False, False),
    ],
)
def test_the_dev_jwt_secret_is_refused_outside_development(secret: str, dev: bool, refused: bool) -> None:
    settings = ServiceSettings(jwt_secret=secret, dev=dev)
    if refused:
        with pytest.raises(UnsafeSettingsError, match="SEEVEE_JWT_SECRET"):
            settings.refuse_unsafe_production()
    else:
        settings.refuse_unsafe_production()


async def test_a_service_with_the_dev_secret_refuses_to_start(tmp_path: object) -> None:
    settings = ServiceSettings(jwt_secret=DEV_JWT_SECRET, dev=False, database_url="sqlite+aiosqlite://")
    runtime = ServiceRuntime("probe", settings, {}, None, ())
    with pytest.raises(UnsafeSettingsError):
        await runtime.start()  # refused before it touches the store or the broker
    await runtime.db.dispose()


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "SEEVEE_DEV": "true",
        "TOPIC_CREATE": "false",
        "TOPIC_REPLICATION_FACTOR": "3",
        "TOPIC_RETENTION_MS": "604800000",
        "DLQ_RETENTION_MS": "2592000000",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "svc",
        "KAFKA_SASL_PASSWORD": "pw",
        "DB_POOL_SIZE": "4",
        "DB_MAX_OVERFLOW": "2",
        "MIGRATE_ON_START": "false",
    }.items():
        monkeypatch.setenv(name, value)
    settings = ServiceSettings()
    assert settings.dev and not settings.topic_create and not settings.migrate_on_start
    assert (settings.topic_replication_factor, settings.topic_retention_ms) == (3, 604800000)
    assert (settings.db_pool_size, settings.db_max_overflow) == (4, 2)
    assert settings.kafka_sasl_password is not None
    assert "pw" not in repr(settings)


def test_plaintext_needs_no_options() -> None:
    assert broker_security(ServiceSettings()) is None
    assert client_options(ServiceSettings()) == {}


@pytest.mark.parametrize(
    ("protocol", "mechanism", "tls"),
    [
        ("SASL_PLAINTEXT", "PLAIN", False),
        ("SASL_SSL", "PLAIN", True),
        ("SASL_SSL", "SCRAM-SHA-256", True),
        ("SASL_PLAINTEXT", "SCRAM-SHA-512", False),
    ],
)
def test_sasl_reaches_both_clients(protocol: str, mechanism: str, tls: bool) -> None:
    settings = ServiceSettings(
        kafka_security_protocol=protocol,
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="svc",
        kafka_sasl_password="pw",
    )
    options = client_options(settings)
    assert options["security_protocol"] == protocol
    assert options["sasl_mechanism"] == mechanism
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("svc", "pw")
    assert isinstance(options["ssl_context"], ssl.SSLContext) is tls


def test_tls_alone_uses_a_verifying_context() -> None:
    options = client_options(ServiceSettings(kafka_security_protocol="SSL"))
    assert options["security_protocol"] == "SSL"
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        client_options(ServiceSettings(kafka_security_protocol="SASL_SSL"))


def test_dead_letter_topics_have_their_own_retention() -> None:
    assert _topic_configs("message.bounced", None, 5) == {}
    assert _topic_configs("message.bounced", 7, 5) == {"retention.ms": "7"}
    assert _topic_configs("dlq.task-service", 7, 5) == {"retention.ms": "5"}
    assert _topic_configs("dlq.task-service", 7, None) == {}
