"""A hostile bounce email is refused (or classified) while webhooks and /healthz keep answering."""

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from bounce_ingest.app import create_app
from bounce_ingest.dsn.budget import EmailBudget
from bounce_ingest.hostile_emails import large_header_block, nested_multiparts
from bounce_ingest.models import IngestBounce
from bounce_ingest.providers.signing import SendGridSigner
from bounce_ingest.record_bounces import TEXT_BOUNDS, TRUNCATED
from bounce_ingest.settings import IngestSettings
from seevee_shared.bus import OutboxRecord
from seevee_shared.testing import TEST_JWT_SECRET, eventually, running_service, token

pytestmark = pytest.mark.kafka

HOSTILE = nested_multiparts(900, 5_000_000)
BOUNCE_EMAIL = b"""From: MAILER-DAEMON@mx.acme.test
To: sam@seevee.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-after-hostile@mx.acme.test>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme.test

Final-Recipient: rfc822; jane@acme.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--b1--
"""


def _app(tmp_path: Path, bootstrap: str, signer: SendGridSigner, **overrides: Any) -> FastAPI:
    settings = IngestSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/ingest.db",
        kafka_bootstrap_servers=bootstrap,
        jwt_secret=TEST_JWT_SECRET,
        sendgrid_webhook_public_key=signer.public_key_b64,
        **overrides,
    )
    return create_app(settings)


def _headers() -> dict[str, str]:
    return {"Content-Type": "message/rfc822", "Authorization": token("ws-hostile", roles=["ingest"])}


async def _webhook(client: httpx.AsyncClient, signer: SendGridSigner) -> httpx.Response:
    event = {"email": "x@acme.test", "event": "delivered", "timestamp": int(time.time()), "sg_event_id": "d"}
    signed = signer.sign([event], int(time.time()))
    return await client.post("/v1/webhooks/sendgrid", content=signed.body, headers=signed.headers)


async def test_the_hostile_email_is_refused_by_the_budget_before_parsing(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    signer = SendGridSigner()
    async with running_service(_app(tmp_path, kafka_bootstrap, signer)) as client:
        for email in (HOSTILE, large_header_block(1_000_000)):
            answer = await client.post("/v1/inbound/dsn", content=email, headers=_headers())
            assert answer.status_code == 422, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert "nests more than" in answer.json()["detail"] or "header block" in answer.json()["detail"]


async def test_a_parse_over_its_time_budget_is_killed_while_webhooks_and_healthz_answer(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """The budget pre-scan is lifted so the hostile email really reaches a parser process."""
    signer = SendGridSigner()
    app = _app(tmp_path, kafka_bootstrap, signer, parse_workers=1, parse_timeout_seconds=2)
    app.state.email_budget = EmailBudget(max_containers=100_000)
    async with running_service(app) as client:
        finished: list[str] = []

        async def hostile() -> httpx.Response:
            answer = await client.post("/v1/inbound/dsn", content=HOSTILE, headers=_headers())
            finished.append("hostile email")
            return answer

        email = asyncio.create_task(hostile())
        await asyncio.sleep(0.3)  # let the email reach its parser (ordering below holds either way)
        health = await client.get("/healthz")
        webhook = await _webhook(client, signer)
        finished.append("webhook and healthz")
        refused = await email

        assert health.status_code == 200 and webhook.status_code == 200, webhook.text
        assert finished == ["webhook and healthz", "hostile email"]
        # Answered either way: refused when the parse overran (here it takes tens of seconds), or
        # classified on a machine fast enough to finish within the budget.
        assert refused.status_code in (200, 422), refused.text
        if refused.status_code == 422:
            assert "time budget" in refused.json()["detail"]

        # The killed parser's slot gets a fresh process: the next real bounce is classified.
        classified = await client.post("/v1/inbound/dsn", content=BOUNCE_EMAIL, headers=_headers())
        assert classified.status_code == 200, classified.text
        assert classified.json()["kind"] == "bounce"


def _dsn_with(message_id: str, remote_mta: str, diagnostic: str) -> bytes:
    return (
        f"From: MAILER-DAEMON@mx.acme.test\nTo: sam@seevee.test\nSubject: Undelivered\n"
        f"Message-ID: <{message_id}>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\n\n'
        "--b1\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--b1\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.acme.test\n\n"
        f"Final-Recipient: rfc822; jane@acme.test\nAction: failed\nStatus: 5.1.1\n"
        f"Remote-MTA: dns; {remote_mta}\nDiagnostic-Code: smtp; 550 5.1.1 {diagnostic}\n\n--b1--\n"
    ).encode()


async def test_oversized_fields_are_truncated_and_an_oversized_message_id_refused(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    """The 1.2 MB Remote-MTA that used to make an unpublishable outbox row is cut with a marker."""
    signer = SendGridSigner()
    app = _app(tmp_path, kafka_bootstrap, signer, unmatched_wait_seconds=0, unmatched_sweep_seconds=0.2)
    async with running_service(app) as client:
        huge = _dsn_with("dsn-huge@mx.acme.test", "m" * 1_200_000, "d" * 1_200_000)
        answer = await client.post("/v1/inbound/dsn", content=huge, headers=_headers())
        assert answer.status_code == 200, answer.text[:500]
        [row] = await _stored(app, "dsn")
        assert row.remote_mta is not None and row.remote_mta.endswith(TRUNCATED)
        assert len(row.remote_mta) <= TEXT_BOUNDS["remote_mta"]
        assert row.diagnostic is not None and len(row.diagnostic) <= TEXT_BOUNDS["diagnostic"]

        long_id = _dsn_with("x" * 1200 + "@mx.acme.test", "mx.acme.test", "user unknown")
        refused = await client.post("/v1/inbound/dsn", content=long_id, headers=_headers())
        assert refused.status_code == 422, refused.text
        assert "provider_event_id is longer than" in refused.json()["detail"]

        event = {
            "email": "jane@acme.test",
            "event": "bounce",
            "timestamp": int(time.time()),
            "status": "5.1.1",
            "reason": "550 " + "r" * 1_200_000,
            "sg_event_id": "sg-huge",
        }
        signed = signer.sign([event], int(time.time()))
        stored = await client.post("/v1/webhooks/sendgrid", content=signed.body, headers=signed.headers)
        assert stored.status_code == 200, stored.text[:300]
        [row] = await _stored(app, "sendgrid")
        assert row.diagnostic is not None and row.diagnostic.endswith(TRUNCATED)
        assert row.diagnostic.startswith("550 rrr") and len(row.diagnostic) == TEXT_BOUNDS["diagnostic"]
        signed = signer.sign([{**event, "sg_event_id": "e" * 5000, "reason": "550"}], int(time.time()))
        bad = await client.post("/v1/webhooks/sendgrid", content=signed.body, headers=signed.headers)
        assert bad.status_code == 400 and "longer than" in bad.json()["detail"]

        async def both_published() -> bool:
            async with app.state.db.transaction() as session:
                rows = (await session.exec(select(OutboxRecord))).all()
            return len(rows) == 2 and all(row.published_at is not None for row in rows)

        # Neither waits for a message.sent (wait 0): both go out as bounce.unmatched, and are sent.
        await eventually(both_published)
        async with app.state.db.transaction() as session:
            payloads = (await session.exec(select(OutboxRecord.payload))).all()
        assert all(len(payload) < 64 * 1024 for payload in payloads)


async def _stored(app: FastAPI, provider: str) -> list[IngestBounce]:
    async with app.state.db.transaction() as session:
        return list((await session.exec(select(IngestBounce).where(IngestBounce.provider == provider))).all())
