"""``make up [SCALE=n]`` / ``make down``: the pipeline as containers through ``deploy/compose.yaml``.

Secrets come from the environment; what is unset is made once under ``var/compose/`` (a random JWT
secret and PostgreSQL password, and the sandbox's webhook secrets so ``make demo`` works against the
containers). Works with ``docker compose`` and with Debian's ``docker-compose``, whichever is there.
"""

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sandbox.credentials import dev_environment
from seevee_deploy.localkafka import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "deploy" / "compose.yaml"
CONSUMERS = ("bounce-ingest", "run-orchestrator", "task-service", "thread-service", "refund-service")
HOST_PORTS = {
    "bounce-ingest": "INGEST_PORT",
    "run-orchestrator": "ORCHESTRATOR_PORT",
    "task-service": "TASKS_PORT",
    "thread-service": "THREADS_PORT",
    "refund-service": "REFUNDS_PORT",
}
DEFAULT_PORTS = {"INGEST_PORT": 8001, "ORCHESTRATOR_PORT": 8002, "TASKS_PORT": 8003}
DEFAULT_PORTS |= {"THREADS_PORT": 8004, "REFUNDS_PORT": 8005, "KAFKA_HOST_PORT": 9092}
SNS_CERT_DIR_IN_CONTAINER = "/run/seevee/sns-certificates"


def compose_command() -> list[str]:
    """``docker compose`` where the plugin answers, else ``docker-compose``."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise SystemExit("neither `docker compose` nor `docker-compose` is installed")


def _kept_secret(path: Path) -> str:
    """A random secret made once and kept in ``path`` (hex: safe inside a database URL)."""
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def compose_environment(var_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """What compose.yaml interpolates: the caller's settings first, secrets kept under var/compose."""
    folder = var_dir / "compose"
    env = dict(environ)
    env.setdefault("SEEVEE_JWT_SECRET", _kept_secret(folder / "jwt-secret"))
    env.setdefault("POSTGRES_PASSWORD", _kept_secret(folder / "postgres-password"))
    sandbox = dev_environment(var_dir)
    cert_dir = sandbox.pop("SES_SNS_CERT_DIR")
    sandbox["SES_SNS_CERT_DIR"] = SNS_CERT_DIR_IN_CONTAINER
    sandbox_env = folder / "sandbox.env"
    sandbox_env.write_text("".join(f"{key}={value}\n" for key, value in sorted(sandbox.items())))
    env.setdefault("SANDBOX_ENV_FILE", str(sandbox_env))
    env.setdefault("SANDBOX_CERT_DIR", cert_dir)
    return env


@dataclass(frozen=True)
class ContainerState:
    """What ``docker inspect`` says of one container, reduced to what explains a failed ``up``."""

    service: str
    name: str
    status: str
    health: str
    exit_code: int
    oom_killed: bool
    restarts: int
    error: str
    last_probe: str

    @classmethod
    def from_inspect(cls, doc: Mapping[str, Any]) -> "ContainerState":
        state = doc.get("State") or {}
        health = state.get("Health") or {}
        probes = health.get("Log") or []
        labels = (doc.get("Config") or {}).get("Labels") or {}
        return cls(
            service=str(labels.get("com.docker.compose.service", "?")),
            name=str(doc.get("Name", "?")).lstrip("/"),
            status=str(state.get("Status", "?")),
            health=str(health.get("Status", "-")),
            exit_code=int(state.get("ExitCode") or 0),
            oom_killed=bool(state.get("OOMKilled")),
            restarts=int(doc.get("RestartCount") or 0),
            error=str(state.get("Error") or ""),
            last_probe=str(probes[-1].get("Output", "")).strip()[:200] if probes else "",
        )

    @property
    def troubled(self) -> bool:
        """Worth its logs: it restarted, died, or its health check failed (a finished job is fine)."""
        failed_job = self.status == "exited" and self.exit_code != 0
        return (
            self.restarts > 0
            or failed_job
            or self.status in {"restarting", "dead"}
            or self.health == "unhealthy"
        )

    def line(self) -> str:
        parts = [f"{self.name}: {self.status}", f"health {self.health}", f"exit {self.exit_code}"]
        parts += [f"restarts {self.restarts}"] + (["OOM-killed"] if self.oom_killed else [])
        parts += [f"error {self.error!r}"] if self.error else []
        parts += [f"last probe {self.last_probe!r}"] if self.last_probe else []
        return ", ".join(parts)


@dataclass
class ComposeProject:
    """One compose project: ``up``, ``scale``, ``kill``, ``down``, and the URLs of its first replicas."""

    name: str = "seevee"
    var_dir: Path = REPO_ROOT / "var"
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    def __post_init__(self) -> None:
        self.env = compose_environment(self.var_dir, self.environ)
        self.base = [*compose_command(), "-f", str(COMPOSE_FILE), "-p", self.name]

    def port(self, variable: str) -> int:
        return int(self.env.get(variable) or DEFAULT_PORTS[variable])

    @property
    def urls(self) -> dict[str, str]:
        return {name: f"http://127.0.0.1:{self.port(var)}" for name, var in HOST_PORTS.items()}

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.port('KAFKA_HOST_PORT')}"

    def run(self, *args: str, capture: bool = False) -> str:
        done = subprocess.run(
            [*self.base, *args], env=self.env, check=True, text=True, capture_output=capture
        )
        return done.stdout if capture else ""

    def up(self, scale: int = 1, *, attempts: int = 3, settle_seconds: float = 120.0) -> None:
        """Start everything; with ``scale`` > 1, ``scale - 1`` extra replicas of every consumer.

        Docker reports a container as unhealthy while its restart policy brings it back, and compose
        gives up on a dependency the moment it reads that. So a failed ``up`` prints every container's
        state and the logs of the troubled ones, waits until nothing is restarting, and runs ``up``
        again (idempotent); after ``attempts`` failures it raises with that report.
        """
        profile = ["--profile", "scale"] if scale > 1 else []
        replicas = [f"--scale={name}-replica={scale - 1}" for name in CONSUMERS] if scale > 1 else []
        for attempt in range(1, attempts + 1):
            try:
                self.run(*profile, "up", "-d", "--remove-orphans", *replicas)
                return
            except subprocess.CalledProcessError as failure:
                report = self.report()
                print(
                    f"compose up failed (attempt {attempt} of {attempts}):\n{report}",
                    file=sys.stderr,
                    flush=True,
                )
                if attempt == attempts:
                    raise RuntimeError(f"compose up failed {attempts} times\n{report}") from failure
                self.settle(settle_seconds)

    def states(self) -> list[ContainerState]:
        """Every container of the project, running or not."""
        ids = self.run("--profile", "scale", "ps", "-a", "-q", capture=True).split()
        if not ids:
            return []
        docs = json.loads(self._docker("inspect", *ids) or "[]")  # one removed meanwhile: the others
        return sorted((ContainerState.from_inspect(doc) for doc in docs), key=lambda state: state.name)

    def report(self, log_lines: int = 40) -> str:
        """Each container's state, then the last log lines of every troubled one."""
        states = self.states()
        lines = [state.line() for state in states] or ["(no containers)"]
        for state in (state for state in states if state.troubled):
            logs = self._docker("logs", "--tail", str(log_lines), state.name, stderr_too=True)
            lines += [f"--- last {log_lines} log lines of {state.name}", logs.rstrip()]
        return "\n".join(lines)

    def settle(self, timeout: float) -> None:
        """Until no container of the project is restarting (or ``timeout`` seconds have passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(s.status == "restarting" for s in self.states()):
            time.sleep(1.0)

    def _docker(self, *args: str, stderr_too: bool = False) -> str:
        done = subprocess.run(
            ["docker", *args],
            check=False,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if stderr_too else subprocess.DEVNULL,
        )
        return done.stdout

    def containers(self, service: str) -> list[str]:
        """Container ids of one compose service, oldest first."""
        out = self.run("--profile", "scale", "ps", "-q", service, capture=True)
        return [line for line in out.split() if line]

    def down(self, *, volumes: bool = False) -> None:
        self.run("--profile", "scale", "down", "--remove-orphans", *(["-v"] if volumes else []))

    async def wait_ready(self, timeout: float = 300.0) -> None:
        """Until every first replica's ``/readyz`` answers 200 through its host port."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=5.0) as client:
            for name, url in self.urls.items():
                while True:
                    try:
                        if (await client.get(f"{url}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if loop.time() > deadline:
                        report = await asyncio.to_thread(self.report)
                        raise RuntimeError(f"{name} not ready after {timeout:.0f}s\n{report}")
                    await asyncio.sleep(1.0)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seevee_deploy.compose")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the containers and wait until every service is ready")
    up.add_argument("--scale", type=int, default=int(os.environ.get("SCALE") or 1))
    down = commands.add_parser("down", help="stop and remove the containers (data volumes stay)")
    down.add_argument("--volumes", action="store_true", help="remove the Kafka and PostgreSQL data too")
    args = parser.parse_args(argv)
    project = ComposeProject()
    if args.command == "down":
        project.down(volumes=args.volumes)
        return
    project.up(args.scale)
    asyncio.run(project.wait_ready())
    print(f"Kafka: {project.kafka_bootstrap}", flush=True)
    for name, url in project.urls.items():
        extra = f" (+{args.scale - 1} replicas without a host port)" if args.scale > 1 else ""
        print(f"{name:<17} {url}{extra}", flush=True)
    print(
        "Ready. Demo: SEEVEE_JWT_SECRET=$(cat var/compose/jwt-secret) make demo   Stop: make down", flush=True
    )


if __name__ == "__main__":
    main(sys.argv[1:])
