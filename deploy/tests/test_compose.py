"""What a failed ``compose up`` reports of each container, read from ``docker inspect`` documents."""

from typing import Any

from seevee_deploy.compose import ContainerState


def _inspected(service: str, status: str, **state: Any) -> dict[str, Any]:
    restarts = state.pop("restarts", 0)
    return {
        "Name": f"/seevee-scale_{service}_1",
        "RestartCount": restarts,
        "Config": {"Labels": {"com.docker.compose.service": service}},
        "State": {"Status": status, "ExitCode": 0, "OOMKilled": False, "Error": "", **state},
    }


def test_a_broker_brought_back_by_its_restart_policy_is_troubled_and_says_why() -> None:
    doc = _inspected(
        "kafka",
        "restarting",
        ExitCode=1,
        restarts=2,
        Health={"Status": "unhealthy", "Log": [{"Output": "connection refused\n"}]},
    )
    state = ContainerState.from_inspect(doc)
    assert state.troubled
    assert state.line() == (
        "seevee-scale_kafka_1: restarting, health unhealthy, exit 1, restarts 2,"
        " last probe 'connection refused'"
    )


def test_a_finished_job_is_not_troubled_and_a_failed_one_is() -> None:
    assert not ContainerState.from_inspect(_inspected("migrate", "exited")).troubled
    assert ContainerState.from_inspect(_inspected("topics", "exited", ExitCode=2)).troubled


def test_a_healthy_service_is_not_troubled_and_an_out_of_memory_kill_is_named() -> None:
    assert not ContainerState.from_inspect(
        _inspected("postgres", "running", Health={"Status": "healthy"})
    ).troubled
    killed = ContainerState.from_inspect(_inspected("kafka", "exited", ExitCode=137, OOMKilled=True))
    assert killed.troubled
    assert "OOM-killed" in killed.line()


def test_a_document_without_health_or_labels_still_reads() -> None:
    state = ContainerState.from_inspect({"Name": "/lonely", "State": {"Status": "created"}})
    assert (state.service, state.health, state.restarts, state.troubled) == ("?", "-", 0, False)
