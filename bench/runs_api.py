"""Figure 6: runs/s created by `POST /v1/runs` against a bare endpoint that only parses the same JSON.

Both run under uvicorn in a child process, loaded by the same client with the same connections, and
take turns repetition by repetition. Every request is a new run of three steps for its own contact,
stored (run and steps) before the 201 as in production; its first step is due tomorrow, so the
service's scheduler, running alongside as in production, finds nothing to claim during the figure.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench.environment import BenchEnv
from bench.http_load import post_all
from bench.repetition import paired_medians
from bench.servers import Served, served
from bench.sizes import Sizes
from bench.stats import median, ratio
from bounce_ingest.providers.signing import SignedRequest
from seevee_shared.auth import issue_token

JWT_SECRET = "bench-secret-0123456789abcdef0123456789"
WORKSPACE = "ws-bench-runs"


def prepared_creations(count: int, token: str) -> list[SignedRequest]:
    start_at = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    requests = []
    for _ in range(count):
        tag = uuid.uuid4().hex[:12]
        body = {
            "contact_id": f"c-{tag}",
            "thread_id": f"t-{tag}",
            "recipient": f"person-{tag}@acme.test",
            "sender_mailbox": "sam@seevee.test",
            "steps": [{"delay_hours": 0}, {"delay_hours": 72}, {"delay_hours": 168}],
            "start_at": start_at,
        }
        requests.append(SignedRequest(orjson.dumps(body), headers))
    return requests


async def measure(env: BenchEnv, sizes: Sizes) -> dict[str, Any]:
    folder = env.folder("runs-api")
    token = issue_token(JWT_SECRET, "bench@seevee.test", WORKSPACE, ["user"])
    service_env = {
        "ORCHESTRATOR_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'runs.db'}",
        "KAFKA_BOOTSTRAP_SERVERS": env.bootstrap,
        "SEEVEE_JWT_SECRET": JWT_SECRET,
    }
    async with (
        served("run_orchestrator.app:create_app", service_env, folder / "runs.log", "/readyz") as ours_server,
        served("bench.bare_app:create_app", {}, folder / "bare.log") as bare_server,
    ):
        cpu_ms: dict[str, list[float]] = {"ours": [], "bare": []}

        def trial(server: Served, name: str) -> Any:
            async def create(_number: int) -> float:
                requests = prepared_creations(sizes.api_runs, token)
                before = server.cpu_seconds()
                elapsed = await post_all(f"{server.url}/v1/runs", requests, sizes.http_concurrency)
                cpu_ms[name].append((server.cpu_seconds() - before) * 1000 / len(requests))
                return len(requests) / elapsed

            return create

        ours, bare = await paired_medians(
            trial(ours_server, "ours"), trial(bare_server, "bare"), sizes.repetitions, sizes.warmups
        )
    return {
        "runs_api_runs_per_s": ours.median,
        "bare_runs_per_s": bare.median,
        "runs_api_ratio": ratio(ours.median, bare.median),
        # Server CPU per request, median over the repetitions (warm-up included): what a run costs the
        # service beside what the bare endpoint costs (clock ticks of 10 ms: read as rough).
        "runs_api_server_cpu_ms": median(cpu_ms["ours"]),
        "bare_runs_server_cpu_ms": median(cpu_ms["bare"]),
    }
