"""Which services the launcher starts, on which port, with which environment: pure, no I/O."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from seevee_shared.settings import DEV_JWT_SECRET


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    package: str
    default_port: int
    port_env: str
    database_env: str

    @property
    def app_factory(self) -> str:
        return f"{self.package}.app:create_app"


SERVICES = (
    ServiceSpec("bounce-ingest", "bounce_ingest", 8001, "INGEST_PORT", "INGEST_DATABASE_URL"),
    ServiceSpec(
        "run-orchestrator", "run_orchestrator", 8002, "ORCHESTRATOR_PORT", "ORCHESTRATOR_DATABASE_URL"
    ),
    ServiceSpec("task-service", "task_service", 8003, "TASKS_PORT", "TASKS_DATABASE_URL"),
    ServiceSpec("thread-service", "thread_service", 8004, "THREADS_PORT", "THREADS_DATABASE_URL"),
    ServiceSpec("refund-service", "refund_service", 8005, "REFUNDS_PORT", "REFUNDS_DATABASE_URL"),
)


def service_port(spec: ServiceSpec, environ: Mapping[str, str], ports: Mapping[str, int]) -> int:
    """An explicit port wins, then the service's ``*_PORT`` variable, then its documented default."""
    if spec.name in ports:
        return ports[spec.name]
    configured = environ.get(spec.port_env)
    return int(configured) if configured else spec.default_port


def sqlite_url(var_dir: Path, spec: ServiceSpec) -> str:
    return f"sqlite+aiosqlite:///{var_dir / f'{spec.name}.db'}"


def service_environment(
    spec: ServiceSpec,
    *,
    environ: Mapping[str, str],
    var_dir: Path,
    kafka_bootstrap: str,
    port: int,
    extra_env: Mapping[str, str],
) -> dict[str, str]:
    """The child's environment: the launcher's, dev defaults beneath it, the launcher's choices above it.

    ``extra_env`` (the sandbox's webhook secrets, a test's settings) is applied last: whoever passes it
    means it. The store defaults to SQLite under ``var_dir`` unless the service's URL is set; the dev
    JWT secret and ``SEEVEE_DEV=true`` (this is a laptop) unless the environment says otherwise, and
    the consumer's static member name ``<service>-1``.
    """
    env = {"SEEVEE_JWT_SECRET": DEV_JWT_SECRET, "SEEVEE_DEV": "true", **environ}
    env.setdefault(spec.database_env, sqlite_url(var_dir, spec))
    # One process per service: a static group member, so a restart rejoins without a rebalance wait.
    env.setdefault("CONSUMER_INSTANCE_ID", f"{spec.name}-1")
    env.update(
        {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            spec.port_env: str(port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra_env)
    return env
