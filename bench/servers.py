"""An app factory served by uvicorn in a child process: the server stack a provider's POST meets."""

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from seevee_deploy import processes
from seevee_deploy.broker_config import free_port
from seevee_deploy.localkafka import REPO_ROOT


@dataclass(frozen=True)
class Served:
    """A served app: its base URL and its process, whose CPU time tells what a request cost it."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU the server process has used so far (``/proc/<pid>/stat``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def served(
    factory: str, env: Mapping[str, str], log_path: Path, ready_path: str = "/healthz"
) -> AsyncIterator[Served]:
    """Yield the server once ``ready_path`` answers 200; the child is stopped on exit."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    child = processes.spawn(
        command, log_path=log_path, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, cwd=REPO_ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(child.poll, f"{url}{ready_path}", log_path)
        yield Served(url, child.pid)
    finally:
        await processes.stop(child)


async def _wait_ready(exited: object, url: str, log_path: Path, timeout: float = 90.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=5.0) as client:
        while True:
            if callable(exited) and exited() is not None:
                raise RuntimeError(f"{url} exited:\n{processes.log_tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            if loop.time() > deadline:
                raise RuntimeError(f"{url} not ready after {timeout:.0f}s:\n{processes.log_tail(log_path)}")
            await asyncio.sleep(0.2)
