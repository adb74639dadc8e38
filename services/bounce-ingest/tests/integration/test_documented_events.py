"""Every documented-event fixture through the real endpoint, signed as its provider signs, into the store.

One service (real Kafka, SQLite) takes all of them in turn; each answer must be a 2xx, and what was
stored (a bounce row with its category, reason and permanence, a complaint row with its feedback type,
or nothing) must be the fixture's expected outcome. The figures per provider are printed (``-s``).
Also here: random and mutated payloads, validly signed, never get a 5xx.
"""

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bounce_ingest.app import create_app
from bounce_ingest.models import IngestBounce, IngestComplaint, IngestSentMessage
from bounce_ingest.providers import PROVIDERS
from bounce_ingest.providers.signing import WebhookSigners
from bounce_ingest.settings import IngestSettings
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database, utcnow
from seevee_shared.events import MessageSent, Topic
from seevee_shared.testing import (
    TEST_JWT_SECRET,
    eventually,
    publish,
    read_events,
    running_service,
    topic_reader,
)

pytestmark = pytest.mark.kafka

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"
CASES = sorted(FIXTURES.glob("*/*.json"))


def _app(tmp_path: Path, bootstrap: str) -> tuple[FastAPI, WebhookSigners]:
    cert_dir = tmp_path / "sns"
    cert_dir.mkdir()
    signers = WebhookSigners.create(cert_dir)
    settings = IngestSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/ingest.db",
        kafka_bootstrap_servers=bootstrap,
        jwt_secret=TEST_JWT_SECRET,
        **signers.settings(cert_dir),
    )
    return create_app(settings), signers


async def _stored(app: FastAPI) -> dict[str, dict[str, Any]]:
    """Every stored record by id, in the fixtures' ``expect`` shape."""
    db: Database = app.state.db
    async with db.transaction() as session:
        bounces = (await session.exec(select(IngestBounce))).all()
        complaints = (await session.exec(select(IngestComplaint))).all()
    found: dict[str, dict[str, Any]] = {
        row.bounce_id: {
            "outcome": "bounce",
            "category": row.category,
            "reason": row.reason,
            "permanent": row.permanent,
        }
        for row in bounces
    }
    for row in complaints:
        found[row.complaint_id] = {"outcome": "complaint", "feedback_type": row.feedback_type}
    return found


async def _post(client: Any, signers: WebhookSigners, provider: str, payload: Any) -> Any:
    signed = signers.post(provider, payload, f"evt-{uuid.uuid4().hex}", utcnow())
    return await client.post(f"/v1/webhooks/{provider}", content=signed.body, headers=signed.headers)


@pytest.fixture(scope="module")
async def service(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str
) -> AsyncIterator[tuple[FastAPI, Any, WebhookSigners]]:
    app, signers = _app(tmp_path_factory.mktemp("ingest"), kafka_bootstrap)
    async with running_service(app) as client:
        yield app, client, signers


async def test_every_documented_event_gets_its_outcome(
    service: tuple[FastAPI, Any, WebhookSigners],
) -> None:
    app, client, signers = service
    assert {path.parent.name for path in CASES} == set(PROVIDERS)
    wrong: list[str] = []
    kinds_right: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    categories_right: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    seen = await _stored(app)
    for path in CASES:
        provider, case = path.parent.name, json.loads(path.read_text())
        expected = case["expect"]
        response = await _post(client, signers, provider, case["payload"])
        stored = await _stored(app)
        new = [record for key, record in stored.items() if key not in seen]
        seen = stored
        found = new[0] if len(new) == 1 else {"outcome": "neither" if not new else f"{len(new)} records"}
        totals[provider] += 1
        kinds_right[provider] += found["outcome"] == expected["outcome"] and response.is_success
        if "category" in expected:
            categories[provider] += 1
            categories_right[provider] += found.get("category") == expected["category"]
        if not response.is_success or {key: found.get(key) for key in expected} != expected:
            wrong.append(f"{provider}/{path.stem}: HTTP {response.status_code}, {found} != {expected}")
    print("\nprovider   fixtures  bounce/complaint/neither  category")
    for provider in sorted(totals):
        print(
            f"{provider:10} {totals[provider]:8}  {kinds_right[provider]:>10}/{totals[provider]:<13}"
            f" {categories_right[provider]}/{categories[provider]}"
        )
    print(
        f"{'all':10} {sum(totals.values()):8}  {sum(kinds_right.values()):>10}/{sum(totals.values()):<13}"
        f" {sum(categories_right.values())}/{sum(categories.values())}"
    )
    assert not wrong, "\n".join(wrong)


async def test_an_unsubscribe_drop_is_published_as_a_complaint(
    service: tuple[FastAPI, Any, WebhookSigners], kafka_bootstrap: str
) -> None:
    app, client, signers = service
    suffix = uuid.uuid4().hex[:10]
    sent = MessageSent(
        message_id=f"msg-{suffix}",
        thread_id=f"thread-{suffix}",
        contact_id=f"contact-{suffix}",
        run_id="run-1",
        run_step=1,
        recipient=f"jane.{suffix}@acme.test",
        sender_mailbox="sam@seevee.test",
        provider="sendgrid",
        smtp_message_id=f"<{suffix}@mail.seevee.test>",
        sent_at=utcnow(),
    )
    dropped = {
        "email": sent.recipient,
        "timestamp": int(utcnow().timestamp()),
        "event": "dropped",
        "reason": "Unsubscribed Address",
        "status": "5.0.0",
        "sg_event_id": f"drop-{suffix}",
        "seevee_message_id": sent.message_id,
    }
    async with topic_reader(kafka_bootstrap, Topic.MESSAGE_COMPLAINED, Topic.MESSAGE_BOUNCED) as reader:
        event = CloudEvent.build(sent, source="/seevee/sender", workspace_id="ws-1", subject=sent.contact_id)
        await publish(kafka_bootstrap, [event])

        async def message_stored() -> bool:
            db: Database = app.state.db
            async with db.transaction() as session:
                return await session.get(IngestSentMessage, sent.message_id) is not None

        await eventually(message_stored, timeout=120)
        response = await _post(client, signers, "sendgrid", dropped)
        assert response.json() == {"accepted": 1, "duplicates": 0, "ignored": 0}
        [published] = await read_events(reader, 1, timeout=120, where=lambda e: e.subject == sent.contact_id)
        assert published.type == Topic.MESSAGE_COMPLAINED
        assert published.data["feedback_type"] == "unsubscribe"
        assert published.data["message_id"] == sent.message_id


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    if draw(st.integers(0, 7)) == 0:
        return draw(json_values)
    if isinstance(value, dict):
        return {key: draw(mutated(item)) for key, item in value.items() if draw(st.integers(0, 9))}
    if isinstance(value, list):
        return [draw(mutated(item)) for item in value]
    return value


PAYLOADS = [(path.parent.name, json.loads(path.read_text())["payload"]) for path in CASES]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_signed_random_and_mutated_payloads_never_get_a_5xx(
    service: tuple[FastAPI, Any, WebhookSigners], data: st.DataObject
) -> None:
    _, client, signers = service
    provider, payload = data.draw(st.sampled_from(PAYLOADS))
    if provider == "mailgun" and "form" in payload:
        fields = st.dictionaries(
            st.sampled_from(["event", "recipient", "code", "error", "reason"]), st.text(max_size=20)
        )
        payload = {"form": {**payload["form"], **data.draw(fields)}}
    else:
        payload = data.draw(mutated(payload))
        if provider == "ses" and not isinstance(payload, dict):
            payload = {"notificationType": payload}
    response = await _post(client, signers, provider, payload)
    assert response.status_code < 500, (provider, payload, response.text)


async def test_the_unsigned_head_of_a_new_webhook_is_answered(
    service: tuple[FastAPI, Any, WebhookSigners],
) -> None:
    _, client, _ = service
    assert (await client.head("/v1/webhooks/mandrill")).status_code == 200
    assert (await client.head("/v1/webhooks/nosuchesp")).status_code == 404
