"""A line logged while an event is handled carries the event's ids; other lines do not."""

import json

import pytest
import structlog

from seevee_shared.bus import EventMeta
from seevee_shared.db import utcnow
from seevee_shared.logging import configure_logging, event_log_context, get_logger


def _meta(event_id: str) -> EventMeta:
    return EventMeta(
        id=event_id,
        type="message.bounced",
        source="/t",
        time=utcnow(),
        subject="c-1",
        workspace_id="ws",
        topic="message.bounced",
    )


def test_lines_inside_an_event_carry_its_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("t", "INFO")
    log = get_logger("t")
    try:
        with structlog.contextvars.bound_contextvars(trace_id="request-trace"):
            with event_log_context(_meta("e-1")):
                log.info("inside")
                with event_log_context(_meta("e-2")):
                    log.info("nested", contact_id="own")
                log.info("back")
            log.info("after")
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    inside, nested, back, after = lines
    assert (inside["event_id"], inside["trace_id"], inside["contact_id"]) == ("e-1", "e-1", "c-1")
    assert inside["event_type"] == "message.bounced"
    assert (nested["event_id"], nested["contact_id"]) == ("e-2", "own")
    assert back["event_id"] == "e-1"
    assert "event_id" not in after and after["trace_id"] == "request-trace"
