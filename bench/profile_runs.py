"""A profile of the run-orchestrator's run creation, in-process, with pyinstrument.

``python -m bench.profile_runs create [N]``: N ``POST /v1/runs`` over 4 concurrent ASGI clients with
the service's lifespan running (local Kafka started for it). Prints runs per second of wall time and
CPU milliseconds per 1,000 runs, then the profile. Its consumer is profiled with the others by
``python -m bench.profile_consume run-orchestrator [N]``.
"""

import asyncio
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.profile_consume import profiled
from run_orchestrator.settings import RunSettings
from seevee_shared.auth import issue_token
from seevee_shared.logging import configure_logging
from seevee_shared.testing import running_service

SECRET = "bench-secret-0123456789abcdef0123456789"


async def create(count: int) -> None:
    from run_orchestrator.app import create_app
    from seevee_deploy.kafka_jars import ensure_kafka_jars
    from seevee_deploy.localkafka import LocalKafka

    await asyncio.to_thread(ensure_kafka_jars)
    folder = Path(tempfile.mkdtemp(prefix="profile-create-"))
    async with LocalKafka(folder / "kafka", heap="512m") as kafka:
        settings = RunSettings(
            database_url=f"sqlite+aiosqlite:///{folder}/runs.db",
            kafka_bootstrap_servers=kafka.bootstrap_servers,
            jwt_secret=SECRET,
            log_level="WARNING",
        )
        headers = {"Authorization": f"Bearer {issue_token(SECRET, 'bench@seevee.test', 'ws-p', ['user'])}"}
        start_at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        async with running_service(create_app(settings)) as client:

            async def creations(n: int) -> None:
                for _ in range(n):
                    tag = uuid.uuid4().hex[:12]
                    body = {
                        "contact_id": f"c-{tag}",
                        "thread_id": f"t-{tag}",
                        "recipient": f"p-{tag}@acme.test",
                        "sender_mailbox": "sam@seevee.test",
                        "start_at": start_at,
                        "steps": [{"delay_hours": 0}, {"delay_hours": 72}, {"delay_hours": 168}],
                    }
                    answer = await client.post("/v1/runs", json=body, headers=headers)
                    if answer.status_code != 201:
                        raise RuntimeError(answer.text)

            async def four_clients() -> None:
                await asyncio.gather(*(creations(count // 4) for _ in range(4)))

            await asyncio.gather(*(creations(25) for _ in range(4)))  # warm-up
            await profiled("runs", count, four_clients)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] != "create":
        raise SystemExit("usage: python -m bench.profile_runs create [N]")
    configure_logging("profile", "WARNING")
    asyncio.run(create(int(sys.argv[2]) if len(sys.argv) > 2 else 4000))


if __name__ == "__main__":
    main()
