"""Every operation of the five HTTP APIs, fuzzed from their OpenAPI documents with a valid token,
and the hostile requests a review found (naive cursors, tokens without bounds) sent to each.

Schemathesis generates valid and invalid requests per operation; none may answer a 5xx, and none
may hang (each request has a timeout). The services run as processes, as ``make run`` starts them.
``make test`` runs a small budget (``SEEVEE_FUZZ_EXAMPLES``, default 4 per operation and mode);
``make fuzz`` a large one.
"""

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from bounce_ingest.providers.signing import SendGridSigner
from seevee_deploy.broker_config import free_port
from seevee_deploy.stack import Stack
from seevee_shared.auth import issue_token
from seevee_shared.http import encode_cursor
from seevee_shared.testing import TEST_JWT_SECRET, token

pytestmark = pytest.mark.kafka

SERVICES = ("bounce-ingest", "run-orchestrator", "task-service", "thread-service", "refund-service")
EXAMPLES = int(os.environ.get("SEEVEE_FUZZ_EXAMPLES", "4"))
REQUEST_TIMEOUT_SECONDS = 15.0
"""A request still unanswered after this long counts as a hang."""


@pytest.fixture(scope="module")
async def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    var_dir: Path = tmp_path_factory.mktemp("fuzz-stack")
    async with Stack(
        var_dir=var_dir,
        ports={name: free_port() for name in SERVICES},
        kafka_bootstrap=kafka_bootstrap,
        extra_env={
            "SEEVEE_JWT_SECRET": TEST_JWT_SECRET,
            "SENDGRID_WEBHOOK_PUBLIC_KEY": SendGridSigner().public_key_b64,
            "DNS_CHECK_ENABLED": "false",
        },
    ) as running:
        yield running


def fuzz(base_url: str, examples: int) -> tuple[list[str], Counter[int]]:
    """Every operation of the service at ``base_url``: what answered a 5xx or did not answer, and the
    count of every status seen."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    auth = {"Authorization": token("ws-fuzz", roles=["user", "support", "ingest"])}
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def call(case: schemathesis.Case) -> None:
            try:
                response = case.call(base_url=base_url, headers=auth, timeout=REQUEST_TIMEOUT_SECONDS)
            except requests.Timeout:
                failures.append(f"{case.operation.label}: no answer within {REQUEST_TIMEOUT_SECONDS} s")
                return
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.operation.label}: {response.status_code} for {case.as_curl_command(headers=auth)}"
                )

        call()
    return failures, statuses


@pytest.mark.fuzz
@pytest.mark.parametrize("service", SERVICES)
async def test_no_request_gets_a_server_error_or_hangs(stack: Stack, service: str) -> None:
    failures, statuses = await asyncio.to_thread(fuzz, stack.urls[service], EXAMPLES)
    assert failures == [], "\n".join(failures[:20])
    assert any(200 <= status < 300 for status in statuses), f"the token never got through: {statuses}"


LISTS = {
    "bounce-ingest": ("/v1/bounces", ("r", "b")),
    "run-orchestrator": ("/v1/runs", ("created_at", "run_id")),
    "task-service": ("/v1/tasks", ("created_at", "task_id")),
    "thread-service": ("/v1/threads", ("s", "t")),
    "refund-service": ("/v1/refunds", ("created_at", "refund_id")),
}


@pytest.mark.parametrize("service", SERVICES)
async def test_hostile_cursors_and_tokens_are_refused_with_a_4xx(stack: Stack, service: str) -> None:
    """A naive-time cursor was a 500 on /v1/runs and /v1/refunds; a century-long token was accepted."""
    path, (time_field, id_field) = LISTS[service]
    auth = {"Authorization": token("ws-hostile", roles=["user"])}
    naive = encode_cursor({time_field: "2026-05-01T12:00:00", id_field: "x"})
    async with httpx.AsyncClient(base_url=stack.urls[service], timeout=REQUEST_TIMEOUT_SECONDS) as client:
        for cursor in (naive, encode_cursor({time_field: 1, id_field: []}), "%%%", "A" * 5000):
            answer = await client.get(path, params={"cursor": cursor}, headers=auth)
            assert answer.status_code in (400, 422), (cursor[:40], answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        forever = issue_token(TEST_JWT_SECRET, "u", "ws-hostile", ["user"], ttl_seconds=100 * 365 * 86400)
        no_audience = jwt.encode(
            {"sub": "u", "workspace_id": "ws-hostile", "iss": "seevee", "exp": int(time.time()) + 60},
            TEST_JWT_SECRET,
            algorithm="HS256",
        )
        for bad in (forever, no_audience, "not-a-jwt"):
            answer = await client.get(path, headers={"Authorization": f"Bearer {bad}"})
            assert answer.status_code == 401, answer.text
            assert "Signature" not in answer.text and "Error" not in answer.json().get("detail", "")
