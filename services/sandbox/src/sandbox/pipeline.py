"""The running pipeline as the demo sees it: five HTTP APIs with a workspace token, and the Kafka bootstrap.

Ports and secrets come from the same variables ``make run`` reads, with the same defaults.
"""

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sandbox.signing import SignedRequest
from seevee_shared.auth import DEFAULT_AUDIENCE, DEFAULT_ISSUER, issue_token

DEV_JWT_SECRET = "dev-secret-change-me"
SERVICE_PORTS = {
    "bounce-ingest": ("INGEST_PORT", 8001),
    "run-orchestrator": ("ORCHESTRATOR_PORT", 8002),
    "task-service": ("TASKS_PORT", 8003),
    "thread-service": ("THREADS_PORT", 8004),
    "refund-service": ("REFUNDS_PORT", 8005),
}


UNAVAILABLE_RETRIES = 10
MAX_RETRY_AFTER = 30.0


class PipelineError(RuntimeError):
    """An API answered something the demo cannot go on from; the message says which and what."""


@dataclass(frozen=True)
class Endpoints:
    urls: dict[str, str]
    kafka_bootstrap: str
    jwt_secret: str
    jwt_issuer: str = DEFAULT_ISSUER
    jwt_audience: str = DEFAULT_AUDIENCE

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Endpoints":
        urls = {
            name: f"http://127.0.0.1:{environ.get(variable) or default}"
            for name, (variable, default) in SERVICE_PORTS.items()
        }
        kafka = environ.get("KAFKA_BOOTSTRAP_SERVERS") or f"127.0.0.1:{environ.get('KAFKA_PORT') or 9092}"
        return cls(
            urls,
            kafka,
            environ.get("SEEVEE_JWT_SECRET") or DEV_JWT_SECRET,
            environ.get("SEEVEE_JWT_ISSUER") or DEFAULT_ISSUER,
            environ.get("SEEVEE_JWT_AUDIENCE") or DEFAULT_AUDIENCE,
        )


class Pipeline:
    """HTTP calls to the services on behalf of one workspace's user."""

    def __init__(self, endpoints: Endpoints, workspace_id: str, client: httpx.AsyncClient) -> None:
        self.endpoints = endpoints
        self.workspace_id = workspace_id
        self._client = client
        token = issue_token(
            endpoints.jwt_secret,
            "demo@seevee.local",
            workspace_id,
            ["user"],
            3600,
            issuer=endpoints.jwt_issuer,
            audience=endpoints.jwt_audience,
        )
        self._auth = {"Authorization": f"Bearer {token}"}

    async def wait_ready(self, timeout: float) -> list[str]:
        """Poll every ``/readyz`` until all answer 200; the services still not ready when time is up."""
        deadline = asyncio.get_running_loop().time() + timeout
        waiting = dict(self.endpoints.urls)
        while waiting:
            for name, url in list(waiting.items()):
                try:
                    if (await self._client.get(f"{url}/readyz")).status_code == 200:
                        del waiting[name]
                except httpx.HTTPError:
                    pass
            if not waiting or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
        return sorted(waiting)

    async def create_run(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", "run-orchestrator", "/v1/runs", json=body, expect=201)

    async def run(self, run_id: str) -> dict[str, Any]:
        return await self._call("GET", "run-orchestrator", f"/v1/runs/{run_id}")

    async def items(self, service: str, path: str, **params: str) -> list[dict[str, Any]]:
        """Every item of a list endpoint, following ``next_cursor``."""
        found: list[dict[str, Any]] = []
        query = {"limit": "500", **params}
        while True:
            page = await self._call("GET", service, path, params=query)
            found.extend(page["items"])
            if not page.get("next_cursor"):
                return found
            query["cursor"] = page["next_cursor"]

    async def post_webhook(self, provider: str, request: SignedRequest) -> dict[str, Any]:
        url = f"{self.endpoints.urls['bounce-ingest']}/v1/webhooks/{provider}"
        answer = await self._client.post(url, content=request.body, headers=request.headers)
        if not answer.is_success:
            raise PipelineError(f"{provider} webhook answered {answer.status_code}: {answer.text[:300]}")
        result: dict[str, Any] = answer.json()
        return result

    async def _call(
        self, method: str, service: str, path: str, *, expect: int = 200, **kwargs: Any
    ) -> dict[str, Any]:
        """One API call; a 503 (the service's store briefly unavailable) is retried after its Retry-After."""
        url = f"{self.endpoints.urls[service]}{path}"
        for _ in range(UNAVAILABLE_RETRIES):
            answer = await self._client.request(method, url, headers=self._auth, **kwargs)
            if answer.status_code != 503:
                break
            await asyncio.sleep(_retry_after(answer.headers.get("Retry-After")))
        if answer.status_code != expect:
            raise PipelineError(f"{method} {url} answered {answer.status_code}: {answer.text[:300]}")
        result: dict[str, Any] = answer.json()
        return result


def _retry_after(header: str | None) -> float:
    """Seconds from a ``Retry-After`` header (an HTTP date counts as one second), at most 30."""
    try:
        return min(max(float(header or 1), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return 1.0
