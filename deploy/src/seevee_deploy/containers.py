"""Container mode for the tests: Kafka and PostgreSQL from our own images, through testcontainers.

Chosen by ``SEEVEE_TEST_MODE=containers`` (``.ci/run`` sets it where a Docker engine runs); the default
stays the Maven-resolved broker and Debian's PostgreSQL binaries. The images are ``make images``'s
(``seevee-kafka``, ``seevee-postgres``, tag ``IMAGE_TAG`` or ``local``); no registry is asked.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

# Ryuk, testcontainers' reaper, is an image from a registry; the context managers below clean up instead.
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from testcontainers.core.container import DockerContainer
from testcontainers.core.waiting_utils import wait_for_logs

from seevee_deploy.broker_config import free_port

MODE_VARIABLE = "SEEVEE_TEST_MODE"
POSTGRES_PASSWORD = "seevee-test"  # a throwaway server on loopback, gone after the session


def container_mode() -> bool:
    return os.environ.get(MODE_VARIABLE, "local") == "containers"


def image(name: str) -> str:
    return f"seevee-{name}:{os.environ.get('IMAGE_TAG', 'local')}"


def _publish_on_loopback(container: DockerContainer, container_port: int, host_port: int) -> None:
    """Publish on 127.0.0.1 only (docker's ``(ip, port)`` form, which ``with_bind_ports`` cannot say)."""
    container.ports[f"{container_port}/tcp"] = ("127.0.0.1", host_port)  # type: ignore[assignment]


@contextmanager
def kafka_container(partitions: int = 6, cluster_id: str | None = None) -> Iterator[str]:
    """A KRaft broker from ``seevee-kafka``; yields bootstrap servers reachable from this host.

    The broker must advertise the host port clients will use, so the port is chosen before the start.
    Without ``cluster_id`` the image makes a random one.
    """
    port = free_port()
    container = (
        DockerContainer(image("kafka"))
        .with_env("KAFKA_ADVERTISED_LISTENERS", f"PLAINTEXT://localhost:9092,EXTERNAL://127.0.0.1:{port}")
        .with_env("KAFKA_PARTITIONS", str(partitions))
        .with_env("KAFKA_JVM_OPTS", "-XX:TieredStopAtLevel=1")
    )
    if cluster_id is not None:
        container.with_env("KAFKA_CLUSTER_ID", cluster_id)
    _publish_on_loopback(container, 19092, port)
    container.start()
    try:
        wait_for_logs(container, "Kafka Server started", timeout=120)
        yield f"127.0.0.1:{port}"
    finally:
        container.stop()


@contextmanager
def postgres_container() -> Iterator[str]:
    """PostgreSQL from ``seevee-postgres``; yields the admin URL (asyncpg) of its ``postgres`` database."""
    container = (
        DockerContainer(image("postgres"))
        .with_env("POSTGRES_PASSWORD", POSTGRES_PASSWORD)
        .with_env("POSTGRES_EXTRA_ARGS", "-c fsync=off -c synchronous_commit=off")
    )
    _publish_on_loopback(container, 5432, free_port())
    container.start()
    try:
        wait_for_logs(container, "database system is ready to accept connections", timeout=120)
        port = container.get_exposed_port(5432)
        yield f"postgresql+asyncpg://postgres:{POSTGRES_PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        container.stop()
