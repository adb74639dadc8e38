import base64
import socket
from pathlib import Path

from seevee_deploy.broker_config import free_port, new_cluster_id, render_broker_properties


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_rendered_properties_bind_loopback_ports_and_keep_single_replica_defaults() -> None:
    props = _properties(render_broker_properties(19092, 19093, Path("/data/kraft"), partitions=6))

    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["log.dirs"] == "/data/kraft"
    assert props["num.partitions"] == "6"
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"


def test_rendered_properties_leave_no_placeholder() -> None:
    assert "$" not in render_broker_properties(1, 2, Path("/d"))


def test_cluster_id_is_sixteen_random_bytes_in_url_safe_base64() -> None:
    first, second = new_cluster_id(), new_cluster_id()

    assert len(first) == 22
    assert len(base64.urlsafe_b64decode(first + "==")) == 16
    assert first != second


def test_cluster_id_never_starts_like_an_option() -> None:
    assert not any(new_cluster_id().startswith("-") for _ in range(2000))


def test_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
