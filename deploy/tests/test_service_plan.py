from pathlib import Path

import pytest

from seevee_deploy.service_plan import DEV_JWT_SECRET, SERVICES, service_environment, service_port

INGEST = SERVICES[0]
VAR = Path("/repo/var")


def test_the_five_services_listen_on_their_documented_ports() -> None:
    assert {s.name: s.default_port for s in SERVICES} == {
        "bounce-ingest": 8001,
        "run-orchestrator": 8002,
        "task-service": 8003,
        "thread-service": 8004,
        "refund-service": 8005,
    }
    assert INGEST.app_factory == "bounce_ingest.app:create_app"


@pytest.mark.parametrize(
    ("environ", "ports", "expected"),
    [
        ({}, {}, 8001),
        ({"INGEST_PORT": "9101"}, {}, 9101),
        ({"INGEST_PORT": "9101"}, {"bounce-ingest": 9201}, 9201),
        ({"TASKS_PORT": "9103"}, {"task-service": 9203}, 8001),
    ],
)
def test_service_port_precedence(environ: dict[str, str], ports: dict[str, int], expected: int) -> None:
    assert service_port(INGEST, environ, ports) == expected


def _env(environ: dict[str, str], extra_env: dict[str, str] | None = None) -> dict[str, str]:
    return service_environment(
        INGEST,
        environ=environ,
        var_dir=VAR,
        kafka_bootstrap="127.0.0.1:19092",
        port=8001,
        extra_env=extra_env or {},
    )


@pytest.mark.parametrize(
    ("environ", "extra_env", "key", "expected"),
    [
        ({}, {}, "INGEST_DATABASE_URL", "sqlite+aiosqlite:////repo/var/bounce-ingest.db"),
        (
            {"INGEST_DATABASE_URL": "postgresql+asyncpg://db/ingest"},
            {},
            "INGEST_DATABASE_URL",
            "postgresql+asyncpg://db/ingest",
        ),
        ({}, {}, "SEEVEE_JWT_SECRET", DEV_JWT_SECRET),
        ({"SEEVEE_JWT_SECRET": "from-shell"}, {}, "SEEVEE_JWT_SECRET", "from-shell"),
        ({"KAFKA_BOOTSTRAP_SERVERS": "elsewhere:9092"}, {}, "KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
        ({"INGEST_PORT": "1"}, {}, "INGEST_PORT", "8001"),
        ({"MANDRILL_WEBHOOK_KEY": "shell"}, {"MANDRILL_WEBHOOK_KEY": "dev"}, "MANDRILL_WEBHOOK_KEY", "dev"),
        ({"PATH": "/usr/bin"}, {}, "PATH", "/usr/bin"),
    ],
)
def test_service_environment_precedence(
    environ: dict[str, str], extra_env: dict[str, str], key: str, expected: str
) -> None:
    assert _env(environ, extra_env)[key] == expected


def test_a_service_gets_only_its_own_store_default() -> None:
    assert "TASKS_DATABASE_URL" not in _env({})


def test_each_service_is_a_static_group_member_unless_told_otherwise() -> None:
    assert _env({})["CONSUMER_INSTANCE_ID"] == "bounce-ingest-1"
    assert _env({"CONSUMER_INSTANCE_ID": "pod-7"})["CONSUMER_INSTANCE_ID"] == "pod-7"
