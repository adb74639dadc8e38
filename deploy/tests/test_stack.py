import os
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from seevee_deploy import processes
from seevee_deploy.broker_config import free_port
from seevee_deploy.service_plan import SERVICES
from seevee_deploy.stack import Stack, StackStartError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    children: list[subprocess.Popen[bytes]] = []
    real_spawn = processes.spawn

    def spawn_and_record(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        children.append(real_spawn(*args, **kwargs))
        return children[-1]

    monkeypatch.setattr(processes, "spawn", spawn_and_record)
    return children


@pytest.mark.kafka
async def test_the_stack_serves_every_service_until_stopped(
    kafka_bootstrap: str, tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    ports = {spec.name: free_port() for spec in SERVICES}
    launcher = Stack(var_dir=tmp_path, ports=ports, kafka_bootstrap=kafka_bootstrap)
    async with launcher as running, httpx.AsyncClient() as client:
        answers = {name: (await client.get(f"{u}/readyz")).status_code for name, u in running.urls.items()}
        stores = {spec.name: (tmp_path / f"{spec.name}.db").is_file() for spec in SERVICES}

    assert answers == dict.fromkeys(ports, 200)
    assert stores == dict.fromkeys(ports, True)
    assert len(spawned) == len(SERVICES)
    assert not any(_alive(child.pid) for child in spawned)


@pytest.mark.kafka
async def test_a_service_that_cannot_start_fails_the_stack_with_its_log(
    kafka_bootstrap: str, tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    thread_service = next(s for s in SERVICES if s.name == "thread-service")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        launcher = Stack(
            var_dir=tmp_path,
            services=[thread_service],
            ports={"thread-service": taken.getsockname()[1]},
            kafka_bootstrap=kafka_bootstrap,
        )

        with pytest.raises(StackStartError, match="thread-service exited") as failure:
            await launcher.start()

    assert "thread-service.log" in str(failure.value)
    assert not any(_alive(child.pid) for child in spawned)


@pytest.mark.kafka
async def test_a_killed_service_is_started_again_on_its_store(
    kafka_bootstrap: str, tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    task_service = next(s for s in SERVICES if s.name == "task-service")
    launcher = Stack(
        var_dir=tmp_path,
        services=[task_service],
        ports={"task-service": free_port()},
        kafka_bootstrap=kafka_bootstrap,
    )
    async with launcher as running, httpx.AsyncClient() as client:
        first = running.pid("task-service")
        running.kill("task-service")
        spawned[0].wait(timeout=30)
        assert running.pid("task-service") is None

        await running.restart("task-service")
        answer = await client.get(f"{running.urls['task-service']}/readyz")
        second = running.pid("task-service")

    assert first is not None and second is not None and second != first
    assert spawned[0].returncode == -9
    assert answer.status_code == 200
    assert not any(_alive(child.pid) for child in spawned)
