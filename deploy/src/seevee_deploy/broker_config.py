"""The single-node KRaft broker's settings, rendered from ``deploy/kafka/broker.properties.template``."""

import base64
import socket
import uuid
from pathlib import Path
from string import Template

from seevee_deploy.kafka_jars import KAFKA_DIR

TEMPLATE = KAFKA_DIR / "broker.properties.template"
LOG4J2_CONFIG = KAFKA_DIR / "log4j2.properties"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (22 characters).

    Never one that starts with ``-``: the storage tool would read it as an option (Kafka's own
    generator skips those for the same reason).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def render_broker_properties(port: int, controller_port: int, log_dirs: Path, partitions: int = 6) -> str:
    """The broker's ``server.properties``; raises KeyError if the template grew a placeholder."""
    return Template(TEMPLATE.read_text()).substitute(
        port=port, controller_port=controller_port, log_dirs=log_dirs, partitions=partitions
    )
