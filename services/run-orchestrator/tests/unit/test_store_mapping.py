"""A run survives the trip from its rows into the domain and back."""

from datetime import UTC, datetime, timedelta

from run_orchestrator.domain import Bounce, RunRow, StepRow, StoredRun, apply_bounce, stop

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def stored_run() -> StoredRun:
    record = RunRow(
        run_id="r1",
        workspace_id="w1",
        contact_id="c1",
        thread_id="t1",
        recipient="Ada@Acme.test",
        recipient_key="ada@acme.test",
        sender_mailbox="me@seevee.test",
        status="active",
        current_step=2,
        created_at=T0,
        updated_at=T0,
    )
    steps = [
        StepRow(run_id="r1", step=1, delay_hours=0, status="sent", due_at=T0, sent_at=T0, message_id="m1"),
        StepRow(run_id="r1", step=2, delay_hours=24, status="scheduled", due_at=T0 + timedelta(hours=24)),
    ]
    return StoredRun(record, steps)


def test_a_pause_and_a_stop_are_written_back_and_read_again() -> None:
    stored = stored_run()
    now = T0 + timedelta(hours=1)
    bounce = Bounce("b1", 1, "temporary", "mailboxfull", now)
    paused = apply_bounce(stored.domain(), bounce, max_bounces=3, auto_restart_hours=6, now=now).run
    stored.apply(paused, now)
    assert stored.domain() == paused
    assert (stored.record.pause_step, stored.record.pause_category, stored.record.updated_at) == (
        1,
        "temporary",
        now,
    )
    assert stored.steps[0].status == "bounced"

    stopped = stop(stored.domain(), "user", now).run
    stored.apply(stopped, now)
    assert stored.domain() == stopped
    assert (stored.record.status, stored.record.stop_cause, stored.record.auto_restart_at) == (
        "stopped",
        "user",
        None,
    )
    assert [s.status for s in stored.steps] == ["bounced", "cancelled"]
