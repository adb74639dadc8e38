"""A raw bounce email's dedupe id belongs to the workspace that reported it (real SQLite store)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlmodel import select

from bounce_ingest.app import MIGRATIONS
from bounce_ingest.domain import record_id
from bounce_ingest.handlers import handlers
from bounce_ingest.inbound_dsn import PROVIDER
from bounce_ingest.models import IngestBounce
from bounce_ingest.record_bounces import store_delivery
from bounce_ingest.records import ParsedRequest, ProviderRecord
from seevee_shared.bus import EventConsumer
from seevee_shared.cloudevents import CloudEvent
from seevee_shared.db import Database
from seevee_shared.events import MessageSent, bounce_id_for
from seevee_shared.testing import polled

NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)
MESSAGE_ID = "dsn-7f3a@mx.acme.example"
JANE = "jane@acme.example"


def _dsn_bounce() -> ProviderRecord:
    return ProviderRecord(
        kind="bounce",
        provider=PROVIDER,
        provider_event_id=MESSAGE_ID,
        recipient=JANE,
        occurred_at=NOW,
        category="mailbox_unknown",
        reason="userunknown",
        permanent=True,
        smtp_status="5.1.1",
    )


def _sent(workspace: str) -> CloudEvent:
    data = MessageSent(
        message_id=f"msg-{workspace}",
        thread_id=f"thread-{workspace}",
        contact_id=f"contact-{workspace}",
        recipient=JANE,
        sender_mailbox="sam@seevee.test",
        provider="sendgrid",
        smtp_message_id=f"<msg-{workspace}@seevee.test>",
        sent_at=NOW - timedelta(hours=1),
    )
    return CloudEvent.build(data, source="/seevee/sender", workspace_id=workspace, subject=data.contact_id)


async def test_another_workspace_posting_the_message_id_first_does_not_erase_the_bounce(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/ingest.db")
    await db.upgrade(MIGRATIONS)
    try:
        await EventConsumer(group="bounce-ingest", db=db, handlers=handlers()).apply(polled([_sent("ws-b")]))
        first = await store_delivery(db, ParsedRequest([_dsn_bounce()]), NOW, "ws-a")
        genuine = await store_delivery(db, ParsedRequest([_dsn_bounce()]), NOW, "ws-b")
        retry = await store_delivery(db, ParsedRequest([_dsn_bounce()]), NOW, "ws-b")
        assert (first.accepted, genuine.accepted, genuine.duplicates) == (1, 1, 0)
        assert (retry.accepted, retry.duplicates) == (0, 1)
        async with db.transaction() as session:
            rows = {row.workspace_scope: row for row in (await session.exec(select(IngestBounce))).all()}
        assert rows["ws-b"].workspace_id == "ws-b" and rows["ws-b"].message_id == "msg-ws-b"
        assert rows["ws-a"].workspace_id is None, "A's copy may only match A's messages"
        assert rows["ws-b"].bounce_id == record_id(_dsn_bounce(), "ws-b") != rows["ws-a"].bounce_id
    finally:
        await db.dispose()


def test_the_migration_gives_stored_raw_email_rows_their_scoped_id(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/old.db")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    legacy_id = bounce_id_for(PROVIDER, MESSAGE_ID, JANE)
    webhook_id = bounce_id_for("sendgrid", "sg-1", JANE)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "548e3d6b8bad")
        for bounce_id, provider, event_id, scope in (
            (legacy_id, PROVIDER, MESSAGE_ID, "ws-b"),
            (webhook_id, "sendgrid", "sg-1", None),
        ):
            connection.execute(
                text(
                    "INSERT INTO ingest_bounces (bounce_id, status, recipient, category, reason, permanent,"
                    " provider, provider_event_id, bounced_at, received_at, workspace_scope) VALUES"
                    " (:id, 'matched', :r, 'mailbox_unknown', 'userunknown', 1, :p, :e, :t, :t, :s)"
                ),
                {"id": bounce_id, "r": JANE, "p": provider, "e": event_id, "t": NOW.isoformat(), "s": scope},
            )
        command.upgrade(config, "head")
        ids = set(connection.execute(text("SELECT bounce_id FROM ingest_bounces")).scalars())
    engine.dispose()
    assert ids == {record_id(_dsn_bounce(), "ws-b"), webhook_id}
