"""``python -m bench.hostile_email [--before]``: what a hostile 5 MB bounce email costs the service.

Runs bounce-ingest in-process (SQLite, no broker: the relay is never started) behind httpx's ASGI
transport and prints, in seconds: the pre-scan, the answer to the hostile email, and the latency of
a SendGrid webhook and of ``/healthz`` while a parser process works on it (the budget lifted so it
really parses) against the same calls on an idle service. ``--before`` also times the old way: the
standard library parsing the email on the calling thread.
"""

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bounce_ingest.app import MIGRATIONS, create_app
from bounce_ingest.dsn.budget import EmailBudget, check_budget
from bounce_ingest.hostile_emails import nested_multiparts
from bounce_ingest.parse_workers import read_bounce_email
from bounce_ingest.providers.signing import SendGridSigner
from bounce_ingest.settings import IngestSettings
from seevee_shared.testing import TEST_JWT_SECRET, token

SAMPLES = 20


async def _latencies(client: httpx.AsyncClient, signer: SendGridSigner) -> dict[str, float]:
    """Median latency of a signed webhook and of ``/healthz``, one after the other."""
    webhook: list[float] = []
    health: list[float] = []
    for index in range(SAMPLES):
        event = {"email": "x@acme.test", "event": "delivered", "timestamp": 1, "sg_event_id": f"d-{index}"}
        signed = signer.sign([event], int(time.time()))
        started = time.perf_counter()
        answer = await client.post("/v1/webhooks/sendgrid", content=signed.body, headers=signed.headers)
        webhook.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
        started = time.perf_counter()
        await client.get("/healthz")
        health.append(time.perf_counter() - started)
    return {"webhook median": statistics.median(webhook), "healthz median": statistics.median(health)}


async def measure(before: bool, log_level: str = "WARNING") -> dict[str, object]:
    hostile = nested_multiparts(900, 5_000_000)
    figures: dict[str, object] = {"email_bytes": len(hostile)}
    started = time.perf_counter()
    try:
        check_budget(hostile)
    except ValueError as refused:
        figures["prescan_verdict"] = str(refused)
    figures["prescan_s"] = time.perf_counter() - started
    if before:
        started = time.perf_counter()
        read_bounce_email(hostile)
        figures["before_in_process_parse_s"] = time.perf_counter() - started
    signer = SendGridSigner()
    with tempfile.TemporaryDirectory() as folder:
        settings = IngestSettings(
            database_url=f"sqlite+aiosqlite:///{Path(folder)}/ingest.db",
            jwt_secret=TEST_JWT_SECRET,
            sendgrid_webhook_public_key=signer.public_key_b64,
            parse_workers=1,
            parse_timeout_seconds=2,
            log_level=log_level,
        )
        app = create_app(settings)
        await app.state.db.upgrade(MIGRATIONS)
        headers = {"Content-Type": "message/rfc822", "Authorization": token("ws-bench", roles=["ingest"])}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest.bench") as client:
            started = time.perf_counter()
            answer = await client.post("/v1/inbound/dsn", content=hostile, headers=headers)
            figures["hostile_answer"] = answer.status_code
            figures["hostile_answer_s"] = time.perf_counter() - started
            await client.post("/v1/inbound/dsn", content=b"Subject: warm\n\nup", headers=headers)
            figures["idle"] = await _latencies(client, signer)
            app.state.email_budget = EmailBudget(max_containers=100_000)
            started = time.perf_counter()
            email = asyncio.create_task(client.post("/v1/inbound/dsn", content=hostile, headers=headers))
            await asyncio.sleep(0.2)
            figures["during_parse"] = await _latencies(client, signer)
            figures["during_parse_still_parsing"] = not email.done()
            lifted = await email
            figures["budget_lifted_answer"] = lifted.status_code
            figures["budget_lifted_answer_s"] = time.perf_counter() - started
        app.state.parse_workers.close()
        await app.state.db.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_email")
    parser.add_argument("--before", action="store_true", help="also time the old in-process parse")
    before = parser.parse_args().before
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings_log_level = "WARNING"
    for name, value in asyncio.run(measure(before, settings_log_level)).items():
        if isinstance(value, dict):
            value = ", ".join(f"{key} {number * 1000:.2f} ms" for key, number in value.items())
        print(f"{name}: {value:.4f}" if isinstance(value, float) else f"{name}: {value}")


if __name__ == "__main__":
    main()
