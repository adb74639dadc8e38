"""bounce-ingest through the real broker: webhooks and bounce emails in, events out, the API to read."""

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlmodel import func, select

from bounce_ingest.app import create_app
from bounce_ingest.models import IngestBounce
from bounce_ingest.providers.signing import SendGridSigner, SnsSigner, sign_mailgun, sns_notification
from bounce_ingest.settings import IngestSettings
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import MessageSent, Topic, dlq_topic
from seevee_shared.testing import (
    TEST_JWT_SECRET,
    eventually,
    publish,
    publish_raw,
    read_events,
    read_records,
    running_service,
    token,
    topic_reader,
)

pytestmark = pytest.mark.kafka

GROUP = "bounce-ingest"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _app(tmp_path: Path, bootstrap: str, signer: SendGridSigner, **overrides: Any) -> FastAPI:
    settings = IngestSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/ingest.db",
        kafka_bootstrap_servers=bootstrap,
        jwt_secret=TEST_JWT_SECRET,
        sendgrid_webhook_public_key=signer.public_key_b64,
        unmatched_sweep_seconds=0.2,
        retry_backoff_seconds=0.05,
        **overrides,
    )
    return create_app(settings)


def _ids() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return {
        "message_id": f"msg-{suffix}",
        "contact_id": f"contact-{suffix}",
        "recipient": f"jane.{suffix}@acme.test",
        "workspace": f"ws-{suffix}",
    }


def _sent(ids: dict[str, str]) -> CloudEvent:
    data = MessageSent(
        message_id=ids["message_id"],
        thread_id=f"thread-{ids['message_id']}",
        contact_id=ids["contact_id"],
        run_id="run-1",
        run_step=1,
        recipient=ids["recipient"],
        sender_mailbox="sam@seevee.test",
        provider="sendgrid",
        provider_message_id=f"pm-{ids['message_id']}",
        smtp_message_id=f"<{ids['message_id']}@mail.seevee.test>",
        sent_at=datetime.now(UTC),
    )
    return CloudEvent.build(
        data, source="/seevee/sender", workspace_id=ids["workspace"], subject=data.contact_id
    )


def _sendgrid_bounce(ids: dict[str, str], event_id: str, *, echo_id: bool = True) -> dict[str, Any]:
    event: dict[str, Any] = {
        "email": ids["recipient"],
        "timestamp": int(time.time()),
        "event": "bounce",
        "type": "bounce",
        "bounce_classification": "Invalid Address",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist",
        "sg_event_id": event_id,
        "sg_message_id": f"other-{event_id}.filter0001.1.2.0",
    }
    if echo_id:
        event["seevee_message_id"] = ids["message_id"]
    return event


async def _post(client: Any, signer: SendGridSigner, events: list[dict[str, Any]]) -> Any:
    signed = signer.sign(
        [*events, {"email": "x@acme.test", "event": "open", "timestamp": 1}], int(time.time())
    )
    return await client.post("/v1/webhooks/sendgrid", content=signed.body, headers=signed.headers)


def _about(bounce_id: str) -> Any:
    return lambda event: event.data.get("bounce_id") == bounce_id


async def _stored_bounces(app: FastAPI) -> int:
    db: Database = app.state.db
    async with db.transaction() as session:
        return (await session.exec(select(func.count()).select_from(IngestBounce))).one()


async def test_signed_webhook_is_published_once_with_its_match(tmp_path: Path, kafka_bootstrap: str) -> None:
    signer = SendGridSigner()
    app = _app(tmp_path, kafka_bootstrap, signer)
    ids = _ids()
    async with (
        topic_reader(kafka_bootstrap, Topic.MESSAGE_BOUNCED) as bounced,
        running_service(app) as client,
    ):
        await publish(kafka_bootstrap, [_sent(ids)])
        first = await _post(client, signer, [_sendgrid_bounce(ids, "sg-1")])
        assert first.status_code == 200, first.text
        assert first.json() == {"accepted": 1, "duplicates": 0, "ignored": 1}
        again = await _post(client, signer, [_sendgrid_bounce(ids, "sg-1")])
        assert again.json() == {"accepted": 0, "duplicates": 1, "ignored": 1}

        [event] = await read_events(bounced, 1, where=lambda e: e.subject == ids["contact_id"])
        assert event.workspaceid == ids["workspace"]
        assert event.id == event.data["bounce_id"]
        assert event.data["matched_by"] == "message_id"
        assert event.data["message_id"] == ids["message_id"]
        assert (event.data["category"], event.data["reason"]) == ("mailbox_unknown", "userunknown")

        listed = await client.get("/v1/bounces", headers={"Authorization": token(ids["workspace"])})
        assert [item["bounce_id"] for item in listed.json()["items"]] == [event.id]
        assert await _stored_bounces(app) == 1
        # The duplicate never reached the bus: only the one event was written for this contact.
        assert await read_events(bounced, 1, timeout=3, where=lambda e: e.subject == ids["contact_id"]) == []


async def test_forged_or_replayed_webhooks_store_nothing_and_auth_guards_the_api(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    signer = SendGridSigner()
    app = _app(tmp_path, kafka_bootstrap, signer, mailgun_webhook_signing_key="mg-key")
    ids = _ids()
    async with running_service(app) as client:
        forged = await _post(client, SendGridSigner(), [_sendgrid_bounce(ids, "sg-forged")])
        assert forged.status_code == 401
        assert forged.headers["content-type"].startswith("application/problem+json")
        assert await _stored_bounces(app) == 0

        unknown = await client.post("/v1/webhooks/nosuchesp", content=b"[]")
        assert unknown.status_code == 404
        assert (await client.get("/v1/bounces")).status_code == 401
        bad_cursor = await client.get(
            "/v1/bounces", params={"cursor": "garbage"}, headers={"Authorization": token(ids["workspace"])}
        )
        assert bad_cursor.status_code == 400
        too_large = await client.post("/v1/webhooks/sendgrid", content=b"[" + b" " * (5 * 1024 * 1024) + b"]")
        assert too_large.status_code == 413

        # Mailgun signs only timestamp + token: the token, remembered in the store, cannot carry a new body.
        failed = {
            "event": "failed",
            "severity": "permanent",
            "recipient": ids["recipient"],
            "id": "mg-1",
            "timestamp": time.time(),
            "delivery-status": {"code": 550, "enhanced-code": "5.1.1"},
        }
        signed_at = int(time.time())
        genuine = sign_mailgun("mg-key", failed, signed_at, token="tok-1")
        assert (
            await client.post("/v1/webhooks/mailgun", content=genuine.body, headers=genuine.headers)
        ).json()["accepted"] == 1
        replayed = sign_mailgun("mg-key", failed | {"id": "mg-2"}, signed_at, token="tok-1")
        answer = await client.post("/v1/webhooks/mailgun", content=replayed.body, headers=replayed.headers)
        assert answer.status_code == 401
        assert await _stored_bounces(app) == 1

        db: Database = app.state.db
        async with db.transaction() as session:
            await session.exec(text("DROP TABLE ingest_bounces"))  # type: ignore[call-overload]
        store_down = await _post(client, signer, [_sendgrid_bounce(ids, "sg-store-down")])
        assert store_down.status_code == 503
        assert store_down.headers["retry-after"]


async def test_a_bounce_before_its_message_waits_then_matches(tmp_path: Path, kafka_bootstrap: str) -> None:
    signer = SendGridSigner()
    app = _app(tmp_path, kafka_bootstrap, signer)
    ids, other = _ids(), _ids()
    async with (
        topic_reader(kafka_bootstrap, Topic.MESSAGE_BOUNCED) as bounced,
        running_service(app) as client,
    ):
        answer = await _post(
            client, signer, [_sendgrid_bounce(ids, f"sg-{ids['message_id']}", echo_id=False)]
        )
        assert answer.json()["accepted"] == 1
        auth = {"Authorization": token(ids["workspace"])}
        assert (await client.get("/v1/bounces", headers=auth)).json()["items"] == []

        await publish(kafka_bootstrap, [_sent(ids)])
        [event] = await read_events(bounced, 1, where=lambda e: e.subject == ids["contact_id"])
        assert event.data["matched_by"] == "recipient"

        async def listed() -> bool:
            page = (
                await client.get("/v1/bounces", headers=auth, params={"contact_id": ids["contact_id"]})
            ).json()
            return [item["bounce_id"] for item in page["items"]] == [event.id]

        await eventually(listed)
        elsewhere = await client.get("/v1/bounces", headers={"Authorization": token(other["workspace"])})
        assert elsewhere.json()["items"] == []
        assert (await client.get(f"/v1/bounces/{event.id}", headers=auth)).json()["bounce_id"] == event.id
        foreign = await client.get(
            f"/v1/bounces/{event.id}", headers={"Authorization": token(other["workspace"])}
        )
        assert foreign.status_code == 404
        assert (await client.get(f"/v1/bounces/{event.id}")).status_code == 401


async def test_a_bounce_nobody_sent_goes_out_unmatched(tmp_path: Path, kafka_bootstrap: str) -> None:
    signer = SendGridSigner()
    app = _app(tmp_path, kafka_bootstrap, signer, unmatched_wait_seconds=0.5)
    ids = _ids()
    async with (
        topic_reader(kafka_bootstrap, Topic.BOUNCE_UNMATCHED) as unmatched,
        running_service(app) as client,
    ):
        answer = await _post(client, signer, [_sendgrid_bounce(ids, f"sg-{ids['message_id']}")])
        assert answer.json()["accepted"] == 1
        [event] = await read_events(unmatched, 1, where=lambda e: e.data.get("recipient") == ids["recipient"])
        assert event.data["message_id"] is None
        assert event.data["contact_id"] is None
        assert event.data["category"] == "mailbox_unknown"


def _bounce_email(ids: dict[str, str]) -> bytes:
    """A Postfix-style RFC 3464 report of a user unknown for ``ids``'s message (CRLF line ends)."""
    template = (FIXTURES / "emails" / "user-unknown.eml.template").read_text()
    filled = template.format(message_id=ids["message_id"], recipient=ids["recipient"])
    return filled.replace("\n", "\r\n").encode()


async def test_a_raw_bounce_email_is_classified_and_published(tmp_path: Path, kafka_bootstrap: str) -> None:
    signer = SendGridSigner()
    app = _app(tmp_path, kafka_bootstrap, signer)
    ids = _ids()
    email = _bounce_email(ids)
    headers = {"Content-Type": "message/rfc822", "Authorization": token(ids["workspace"], roles=["ingest"])}
    async with (
        topic_reader(kafka_bootstrap, Topic.MESSAGE_BOUNCED) as bounced,
        running_service(app) as client,
    ):
        await publish(kafka_bootstrap, [_sent(ids)])
        forbidden = await client.post(
            "/v1/inbound/dsn", content=email, headers=headers | {"Authorization": token(ids["workspace"])}
        )
        assert forbidden.status_code == 403
        wrong_type = await client.post(
            "/v1/inbound/dsn", content=email, headers=headers | {"Content-Type": "text/plain"}
        )
        assert wrong_type.status_code == 415

        answer = await client.post("/v1/inbound/dsn", content=email, headers=headers)
        assert answer.status_code == 200, answer.text
        classification = answer.json()
        assert classification["kind"] == "bounce"
        assert [bounce["recipient"] for bounce in classification["bounces"]] == [ids["recipient"]]
        assert classification["bounces"][0]["category"] == "mailbox_unknown"
        assert (await client.post("/v1/inbound/dsn", content=email, headers=headers)).status_code == 200

        [event] = await read_events(bounced, 1, where=lambda e: e.subject == ids["contact_id"])
        assert event.data["provider"] == "dsn"
        assert event.data["provider_event_id"] == f"dsn-{ids['message_id']}@mx.acme.test"
        assert event.data["matched_by"] in {"smtp_message_id", "recipient"}
        assert await read_events(bounced, 1, timeout=3, where=lambda e: e.subject == ids["contact_id"]) == []


async def test_a_malformed_message_sent_is_dead_lettered_and_the_next_applied(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    signer = SendGridSigner()
    app = _app(tmp_path, kafka_bootstrap, signer)
    ids = _ids()
    broken = _sent(ids).model_dump(mode="json")
    broken["data"].pop("recipient")
    async with (
        topic_reader(kafka_bootstrap, dlq_topic(GROUP)) as dlq,
        topic_reader(kafka_bootstrap, Topic.MESSAGE_BOUNCED) as bounced,
        running_service(app) as client,
    ):
        key = ids["contact_id"].encode()
        await publish_raw(kafka_bootstrap, [(Topic.MESSAGE_SENT, key, orjson.dumps(broken))])
        await publish(kafka_bootstrap, [_sent(ids)])
        dead: list[Any] = []

        async def dead_lettered() -> bool:
            dead.extend(await read_records(dlq, 1, timeout=1))
            return any(orjson.loads(record.value)["id"] == broken["id"] for record in dead)

        await eventually(dead_lettered)
        [record] = [record for record in dead if orjson.loads(record.value)["id"] == broken["id"]]
        assert dict(record.headers)["x-original-topic"] == Topic.MESSAGE_SENT.value.encode()

        await _post(client, signer, [_sendgrid_bounce(ids, f"sg-{ids['message_id']}")])
        [event] = await read_events(bounced, 1, where=lambda e: e.subject == ids["contact_id"])
        assert event.data["matched_by"] == "message_id"


async def test_the_list_pages_and_filters_within_the_workspace(tmp_path: Path, kafka_bootstrap: str) -> None:
    signer = SendGridSigner()
    app = _app(tmp_path, kafka_bootstrap, signer)
    workspace = _ids()["workspace"]
    messages = [_ids() | {"workspace": workspace} for _ in range(3)]
    auth = {"Authorization": token(workspace)}
    async with running_service(app) as client:
        await publish(kafka_bootstrap, [_sent(ids) for ids in messages])
        events = [_sendgrid_bounce(ids, f"sg-{ids['message_id']}") for ids in messages]
        events[0] |= {"bounce_classification": "Reputation", "status": "5.7.1", "reason": "550 5.7.1 blocked"}
        assert (await _post(client, signer, events)).json()["accepted"] == 3

        async def all_listed() -> bool:
            return len((await client.get("/v1/bounces", headers=auth)).json()["items"]) == 3

        await eventually(all_listed)
        first = (await client.get("/v1/bounces", headers=auth, params={"limit": 2})).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        rest = (
            await client.get("/v1/bounces", headers=auth, params={"limit": 2, "cursor": first["next_cursor"]})
        ).json()
        assert rest["next_cursor"] is None
        paged = {item["bounce_id"] for item in first["items"] + rest["items"]}
        assert len(paged) == 3

        policy = (await client.get("/v1/bounces", headers=auth, params={"category": "spam_policy"})).json()
        assert [item["message_id"] for item in policy["items"]] == [messages[0]["message_id"]]
        by_contact = await client.get(
            "/v1/bounces", headers=auth, params={"contact_id": messages[1]["contact_id"]}
        )
        assert [item["message_id"] for item in by_contact.json()["items"]] == [messages[1]["message_id"]]
        by_message = await client.get(
            "/v1/bounces", headers=auth, params={"message_id": messages[2]["message_id"]}
        )
        assert [item["contact_id"] for item in by_message.json()["items"]] == [messages[2]["contact_id"]]
        assert (await client.get("/v1/bounces", headers=auth, params={"limit": 501})).status_code == 422
        assert (await client.get("/v1/bounces", headers=auth, params={"category": "nope"})).status_code == 422


async def test_an_sns_signed_ses_bounce_matches_by_provider_message_id(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    cert_dir = tmp_path / "sns-certs"
    sns = SnsSigner(cert_dir)
    topic_arn = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
    app = _app(
        tmp_path, kafka_bootstrap, SendGridSigner(), ses_sns_topic_arns=topic_arn, ses_sns_cert_dir=cert_dir
    )
    ids = _ids()
    now = datetime.now(UTC)
    ses_bounce = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": ids["recipient"], "status": "5.1.1", "action": "failed",
                 "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
            ],
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "feedbackId": f"feedback-{ids['message_id']}",
        },
        "mail": {"messageId": f"pm-{ids['message_id']}", "destination": [ids["recipient"]]},
    }  # fmt: skip
    signed = sns.sign(sns_notification(topic_arn, ses_bounce, str(uuid.uuid4()), now))
    async with (
        topic_reader(kafka_bootstrap, Topic.MESSAGE_BOUNCED) as bounced,
        running_service(app) as client,
    ):
        await publish(kafka_bootstrap, [_sent(ids)])
        answer = await client.post("/v1/webhooks/ses", content=signed.body, headers=signed.headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 1
        [event] = await read_events(bounced, 1, where=lambda e: e.subject == ids["contact_id"])
        assert (event.data["provider"], event.data["matched_by"]) == ("ses", "provider_message_id")
