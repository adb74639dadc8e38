"""The providers' retry schedules as documented, and what compression does and does not touch."""

import pytest

from chaos.retries import HOUR, MINUTE, POLICIES


def test_sendgrid_retries_anything_for_a_day_and_compression_divides_the_waits() -> None:
    sendgrid = POLICIES["sendgrid"]
    assert sum(sendgrid.delays) <= 24 * HOUR
    assert sum(sendgrid.delays) > 23 * HOUR
    assert sendgrid.next_delay(0, 400, time_scale=60) == pytest.approx(1.0)
    assert sendgrid.next_delay(0, None, time_scale=60) == pytest.approx(1.0)
    assert sendgrid.next_delay(len(sendgrid.delays), 503, time_scale=60) is None


def test_sns_keeps_its_real_seconds_and_gives_up_on_client_errors() -> None:
    ses = POLICIES["ses"]
    assert [ses.next_delay(n, 503, time_scale=60) for n in range(4)] == [20.0, 20.0, 20.0, None]
    assert ses.next_delay(0, None, time_scale=60) == 20.0
    assert ses.next_delay(0, 429, time_scale=60) == 20.0
    assert ses.next_delay(0, 400, time_scale=60) is None


def test_mailgun_follows_its_schedule_and_stops_on_406() -> None:
    mailgun = POLICIES["mailgun"]
    assert mailgun.delays == (5 * MINUTE, 10 * MINUTE, 15 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR)
    assert mailgun.next_delay(1, 500, time_scale=60) == pytest.approx(10.0)
    assert mailgun.next_delay(0, 406, time_scale=60) is None
    assert mailgun.next_delay(0, 401, time_scale=60) == pytest.approx(5.0)
