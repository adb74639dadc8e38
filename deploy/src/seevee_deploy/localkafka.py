"""A real single-node Apache Kafka (KRaft) on 127.0.0.1 for ``make run``, ``make kafka`` and the tests.

The jars come from Maven Central (see ``kafka_jars``); ``KAFKA_BOOTSTRAP_SERVERS`` replaces all of it
with a cluster of your own. Readiness is an admin call answered by the broker, not an open port.
"""

import argparse
import asyncio
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from types import TracebackType

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from seevee_deploy import processes
from seevee_deploy.broker_config import LOG4J2_CONFIG, free_port, new_cluster_id, render_broker_properties
from seevee_deploy.kafka_jars import KafkaJars, ensure_kafka_jars
from seevee_shared.events import ALL_TOPICS
from seevee_shared.kafka_admin import ensure_topics

REPO_ROOT = Path(__file__).resolve().parents[3]
PARTITIONS = 6
QUICK_START_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")
"""A small broker on a busy laptop or CI box: C1-only JIT and a serial GC start it faster on few CPUs.
``KAFKA_JVM_OPTS`` replaces them (empty: the JVM's defaults, e.g. for ``make bench``)."""


class KafkaStartError(RuntimeError):
    """The broker did not come up; the message carries the end of its log."""


class LocalKafka:
    """One broker+controller JVM in ``data_dir`` (a fresh temporary folder when not given)."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        port: int | None = None,
        controller_port: int | None = None,
        heap: str = "512m",
        jvm_options: Sequence[str] | None = None,
        partitions: int = PARTITIONS,
        startup_timeout: float = 120.0,
    ) -> None:
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.heap = heap
        if jvm_options is None:
            configured = os.environ.get("KAFKA_JVM_OPTS")
            jvm_options = QUICK_START_JVM_OPTIONS if configured is None else shlex.split(configured)
        self.jvm_options = tuple(jvm_options)
        self.partitions = partitions
        self.startup_timeout = startup_timeout
        self._data_dir = data_dir
        self._owns_data_dir = data_dir is None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            self._data_dir = Path(tempfile.mkdtemp(prefix="seevee-kafka-"))
        return self._data_dir

    @property
    def _log_dirs(self) -> Path:
        return self.data_dir / "kraft"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "logs" / "kafka.out"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        jars = await asyncio.to_thread(ensure_kafka_jars)
        await asyncio.to_thread(self.data_dir.mkdir, parents=True, exist_ok=True)
        properties = self.data_dir / "server.properties"
        properties.write_text(
            render_broker_properties(
                self.port, self.controller_port, self._log_dirs, partitions=self.partitions
            )
        )
        await asyncio.to_thread(self._format_storage, jars, properties)
        self._process = processes.spawn(
            [*self._java(jars, self.heap), "kafka.Kafka", str(properties)], log_path=self.log_path
        )
        try:
            await wait_for_kafka(self.bootstrap_servers, self.startup_timeout, self._process, self.log_path)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._process is not None:
            await processes.stop(self._process)
            self._process = None
        if self._owns_data_dir and self._data_dir is not None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None

    async def __aenter__(self) -> "LocalKafka":
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _java(self, jars: KafkaJars, heap: str) -> list[str]:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else "java"
        return [
            java,
            f"-Xmx{heap}",
            *self.jvm_options,
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
            f"-Dkafka.logs.dir={self.data_dir / 'logs'}",
            "-cp",
            jars.classpath,
        ]

    def _format_storage(self, jars: KafkaJars, properties: Path) -> None:
        """Format the KRaft log dir once: a folder from an earlier run keeps its cluster id and data."""
        if (self._log_dirs / "meta.properties").is_file():
            return
        command = [
            *self._java(jars, "256m"),
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            new_cluster_id(),
            "--config",
            str(properties),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise KafkaStartError(f"formatting KRaft storage failed:\n{done.stdout}{done.stderr}")


async def wait_for_kafka(
    bootstrap_servers: str,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> None:
    """Return once the cluster answers a describe-cluster call with a broker and a controller."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if process is not None and process.poll() is not None:
            tail = processes.log_tail(log_path) if log_path else ""
            raise KafkaStartError(f"Kafka exited with code {process.returncode}:\n{tail}")
        if await _answers(bootstrap_servers):
            return
        if loop.time() > deadline:
            tail = processes.log_tail(log_path) if log_path else ""
            raise KafkaStartError(f"Kafka at {bootstrap_servers} did not answer in {timeout:.0f}s\n{tail}")
        await asyncio.sleep(0.25)


async def _answers(bootstrap_servers: str) -> bool:
    if not await _accepts_connections(bootstrap_servers):
        return False
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
    except (KafkaError, OSError):
        return False
    finally:
        await admin.close()
    return bool(cluster["brokers"]) and cluster["controller_id"] not in (None, -1)


async def _accepts_connections(bootstrap_servers: str) -> bool:
    """A quiet pre-check, so the admin client does not log a connection error per attempt."""
    host, _, port = bootstrap_servers.split(",")[0].rpartition(":")
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host or "127.0.0.1", int(port)), 2)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def create_topics(
    bootstrap_servers: str,
    names: Iterable[str] = ALL_TOPICS,
    partitions: int = PARTITIONS,
    timeout: float = 60.0,
) -> None:
    """Create the missing topics (existing ones stay as they are); wait until every partition has a leader."""
    wanted = list(names)
    await ensure_topics(bootstrap_servers, wanted, partitions, wait_seconds=timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10000)
    await admin.start()
    try:
        while True:
            described = await admin.describe_topics(wanted)
            pending = [t["topic"] for t in described if not _has_leaders(t)]
            pending += sorted(set(wanted) - {t["topic"] for t in described})
            if not pending:
                return
            if loop.time() > deadline:
                raise KafkaStartError(f"topics without a leader after {timeout:.0f}s: {pending}")
            await asyncio.sleep(0.2)
    finally:
        await admin.close()


def _has_leaders(topic: dict[str, object]) -> bool:
    partitions = topic.get("partitions")
    if topic.get("error_code") != 0 or not isinstance(partitions, list) or not partitions:
        return False
    return all(p.get("leader", -1) >= 0 for p in partitions)


@contextlib.asynccontextmanager
async def running_kafka(
    data_dir: Path | None = None, port: int | None = None, partitions: int = PARTITIONS
) -> AsyncIterator[str]:
    """The bootstrap servers of ``KAFKA_BOOTSTRAP_SERVERS`` if set, else of a LocalKafka run for the block."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        await wait_for_kafka(external, timeout=60.0)
        yield external
        return
    async with LocalKafka(data_dir, port=port, partitions=partitions) as kafka:
        yield kafka.bootstrap_servers


async def wait_for_stop_signal() -> None:
    """Block until SIGINT or SIGTERM reaches the foreground launcher."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stopping.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _run(port: int, data_dir: Path) -> None:
    async with running_kafka(data_dir, port) as bootstrap:
        await create_topics(bootstrap)
        print(f"Kafka listening on {bootstrap} (data and logs in {data_dir}); Ctrl-C stops it.", flush=True)
        await wait_for_stop_signal()
        print("stopping Kafka", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m seevee_deploy.localkafka")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a single-node Kafka in the foreground until Ctrl-C")
    run.add_argument("--port", type=int, default=int(os.environ.get("KAFKA_PORT", "9092")))
    run.add_argument("--data-dir", type=Path, default=REPO_ROOT / "var" / "kafka")
    args = parser.parse_args(argv)
    asyncio.run(_run(args.port, args.data_dir))


if __name__ == "__main__":
    main()
