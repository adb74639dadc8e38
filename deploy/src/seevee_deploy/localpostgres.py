"""A throwaway PostgreSQL cluster from Debian's ``postgresql`` binaries, for tests that need the real thing.

``TEST_POSTGRES_URL`` points tests at an existing server instead. The cluster lives in a temporary
folder, listens on a free loopback port, trusts local connections, and is removed on stop.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType

from seevee_deploy.broker_config import free_port


def postgres_bin_dir() -> Path | None:
    """The newest installed server's ``bin`` folder, or None when PostgreSQL is not installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


async def fresh_database(server_url: str) -> str:
    """Create an empty database on the server and return its URL: one per test keeps tests apart."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


class LocalPostgres:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="seevee-pg-"))
        self.data = self.root / "data"
        self._as_postgres: list[str] = []

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def postmaster_pid(self) -> int | None:
        """The server's main process (from ``postmaster.pid``), or None when it is not running."""
        pid_file = self.data / "postmaster.pid"
        if not pid_file.is_file():
            return None
        first_line = pid_file.read_text().split("\n", 1)[0].strip()
        return int(first_line) if first_line.isdigit() else None

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_postgres, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> "LocalPostgres":
        if os.geteuid() == 0:
            # initdb refuses to run as root: the cluster belongs to the postgres system user.
            shutil.chown(self.root, "postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D", str(self.data),
            "-l", str(self.root / "server.log"),
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off",
            "-w", "start",
        )  # fmt: skip
        return self

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [
                    *self._as_postgres,
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "immediate",
                    "stop",
                ],
                capture_output=True,
                timeout=60,
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
