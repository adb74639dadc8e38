"""``make run``: Kafka, the topics, then the five services as uvicorn processes, until Ctrl-C.

``Stack`` is the same launcher as an async context manager, so the end-to-end tests start the
services exactly as ``make run`` does. Logs go to ``var/log/<service>.log``.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx

from sandbox.credentials import dev_environment
from seevee_deploy import processes
from seevee_deploy.localkafka import (
    PARTITIONS,
    REPO_ROOT,
    create_topics,
    running_kafka,
    wait_for_stop_signal,
)
from seevee_deploy.service_plan import SERVICES, ServiceSpec, service_environment, service_port


class StackStartError(RuntimeError):
    """A service did not become ready; the message carries the end of its log."""


class Stack:
    """Kafka (local or ``KAFKA_BOOTSTRAP_SERVERS``), the topics and the services, as one unit."""

    def __init__(
        self,
        root: Path = REPO_ROOT,
        *,
        var_dir: Path | None = None,
        services: Sequence[ServiceSpec] = SERVICES,
        ports: Mapping[str, int] | None = None,
        extra_env: Mapping[str, str] | None = None,
        kafka_bootstrap: str | None = None,
        kafka_port: int | None = None,
        ready_timeout: float = 120.0,
    ) -> None:
        self.root = root
        self.var_dir = var_dir or root / "var"
        self.services = tuple(services)
        self.ports = {s.name: service_port(s, os.environ, ports or {}) for s in self.services}
        self.extra_env = dict(extra_env or {})
        self.kafka_bootstrap = kafka_bootstrap
        self.kafka_port = kafka_port
        self.ready_timeout = ready_timeout
        self._exit_stack = contextlib.AsyncExitStack()
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}

    def log_path(self, service: str) -> Path:
        return self.var_dir / "log" / f"{service}.log"

    async def start(self) -> None:
        await asyncio.to_thread(self.var_dir.mkdir, parents=True, exist_ok=True)
        try:
            if self.kafka_bootstrap is None:
                self.kafka_bootstrap = await self._exit_stack.enter_async_context(
                    running_kafka(self.var_dir / "kafka", self.kafka_port, PARTITIONS)
                )
            await create_topics(self.kafka_bootstrap, partitions=PARTITIONS)
            for spec in self.services:
                self._children[spec.name] = self._spawn(spec, self.kafka_bootstrap)
            await asyncio.gather(*(self._wait_ready(spec.name) for spec in self.services))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Services first (they flush their outboxes to Kafka), then Kafka."""
        children, self._children = self._children, {}
        await asyncio.gather(*(processes.stop(child) for child in children.values()))
        await self._exit_stack.aclose()

    def pid(self, name: str) -> int | None:
        """The running process of a service (its process group has the same id), or None."""
        child = self._children.get(name)
        return child.pid if child is not None and child.poll() is None else None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal a service's whole process group at once, as ``kill -9`` does in a fault test."""
        child = self._children[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, sig)

    async def restart(self, name: str) -> None:
        """Start a service again (after ``kill``, a crash, a change) and wait until it is ready."""
        if self.kafka_bootstrap is None:
            raise RuntimeError("the stack was never started")
        old = self._children.pop(name, None)
        if old is not None:
            await processes.stop(old)
        spec = next(spec for spec in self.services if spec.name == name)
        self._children[name] = self._spawn(spec, self.kafka_bootstrap)
        await self._wait_ready(name)

    async def __aenter__(self) -> "Stack":
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _spawn(self, spec: ServiceSpec, kafka_bootstrap: str) -> subprocess.Popen[bytes]:
        port = self.ports[spec.name]
        env = service_environment(
            spec,
            environ=os.environ,
            var_dir=self.var_dir,
            kafka_bootstrap=kafka_bootstrap,
            port=port,
            extra_env=self.extra_env,
        )
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            spec.app_factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        return processes.spawn(command, log_path=self.log_path(spec.name), env=env, cwd=self.root)

    async def _wait_ready(self, name: str) -> None:
        """Poll ``/readyz`` until it answers 200; fail at once if the process has exited."""
        child, url = self._children[name], f"{self.urls[name]}/readyz"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        last = "no answer yet"
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                if child.poll() is not None:
                    raise StackStartError(self._failure(name, f"exited with code {child.returncode}"))
                try:
                    answer = await client.get(url)
                    if answer.status_code == 200:
                        return
                    last = f"{answer.status_code} {answer.text[:300]}"
                except httpx.HTTPError as exc:
                    last = repr(exc)
                if loop.time() > deadline:
                    waited = f"not ready after {self.ready_timeout:.0f}s: {last}"
                    raise StackStartError(self._failure(name, waited))
                await asyncio.sleep(0.25)

    def _failure(self, name: str, what: str) -> str:
        log = self.log_path(name)
        return f"{name} {what}\n--- {log} ---\n{processes.log_tail(log)}"


async def _run() -> None:
    dev_env = {
        key: value for key, value in dev_environment(REPO_ROOT / "var").items() if key not in os.environ
    }
    kafka_port = int(os.environ.get("KAFKA_PORT", "9092"))
    async with Stack(extra_env=dev_env, kafka_port=kafka_port) as stack:
        print(f"Kafka: {stack.kafka_bootstrap}", flush=True)
        for name, url in stack.urls.items():
            print(f"{name:<17} {url}  (docs {url}/docs, log {stack.log_path(name)})", flush=True)
        print("Ready. Ctrl-C stops everything.", flush=True)
        await wait_for_stop_signal()
        print("stopping the services, then Kafka", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seevee_deploy.stack")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start Kafka and the five services in the foreground until Ctrl-C")
    parser.parse_args(argv)
    asyncio.run(_run())


if __name__ == "__main__":
    main()
