"""The Apache Kafka jars, resolved once from Maven Central by ``deploy/kafka/pom.xml`` and cached.

A marker file says a resolution finished, so a half-copied folder is never used; a lock file keeps two
launches (``make run`` beside ``make test``) from resolving into the same folder at once.
"""

import fcntl
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

KAFKA_DIR = Path(__file__).resolve().parents[2] / "kafka"
"""``deploy/kafka``: the POM, the log4j2 configuration and the broker properties template."""

KAFKA_VERSIONS = ("4.1.2", "4.1.1")
"""Preferred first; the next is tried when Maven Central refuses the one before."""

_MARKER = ".resolved"


class KafkaResolutionError(RuntimeError):
    """Maven could not resolve any of the Kafka versions."""


@dataclass(frozen=True)
class KafkaJars:
    version: str
    libs: Path

    @property
    def classpath(self) -> str:
        return f"{self.libs}{os.sep}*"


def cache_dir() -> Path:
    configured = os.environ.get("SEEVEE_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "seevee"


def cached_jars(cache: Path, versions: tuple[str, ...] = KAFKA_VERSIONS) -> KafkaJars | None:
    """The first version whose resolution finished earlier, if any."""
    for version in versions:
        home = cache / f"kafka-{version}"
        if (home / _MARKER).is_file():
            return KafkaJars(version, home / "libs")
    return None


def ensure_kafka_jars(
    cache: Path | None = None, versions: tuple[str, ...] = KAFKA_VERSIONS, mvn: str = "mvn"
) -> KafkaJars:
    """Return the cached jars, resolving them with Maven the first time (about a minute, cold)."""
    cache = cache or cache_dir()
    found = cached_jars(cache, versions)
    if found is not None:
        return found
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "kafka.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = cached_jars(cache, versions)
        if found is not None:
            return found
        failures: list[str] = []
        for version in versions:
            outcome = _resolve(cache / f"kafka-{version}", version, mvn)
            if outcome is None:
                return KafkaJars(version, cache / f"kafka-{version}" / "libs")
            failures.append(f"Kafka {version}: {outcome}")
        raise KafkaResolutionError("Maven could not resolve Kafka:\n" + "\n".join(failures))


def _resolve(home: Path, version: str, mvn: str) -> str | None:
    """Copy the jars of one Kafka version into ``home/libs``; None on success, else Maven's complaint."""
    libs = home / "libs"
    shutil.rmtree(libs, ignore_errors=True)
    libs.mkdir(parents=True)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(KAFKA_DIR / "pom.xml"),
        f"-Dkafka.version={version}",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={libs}",
        "dependency:copy-dependencies",
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return f"{mvn!r} not found; install Maven 3 (and Java 17+) or set KAFKA_BOOTSTRAP_SERVERS"
    if done.returncode != 0 or not any(libs.glob(f"kafka_2.13-{version}.jar")):
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        return f"mvn exited {done.returncode}: " + "\n".join(tail)
    (home / _MARKER).write_text(version + "\n")
    return None
