"""Each provider's documented retry behaviour, with minute-long waits compressed for a test run.

Pure. A provider retries on a connection error or on the statuses it retries; the waits are its own
documented schedule. SendGrid and Mailgun wait minutes to hours, which the run divides by ``time_scale``;
SNS's default HTTP/S policy already waits seconds (three retries, 20 s apart) and is kept as it is: a
bounce-ingest outage longer than about a minute loses SES notifications in production too.
"""

from dataclasses import dataclass

MINUTE = 60.0
HOUR = 60 * MINUTE


def _doubling_until(first: float, ceiling: float, total: float) -> tuple[float, ...]:
    delays: list[float] = []
    delay = first
    while sum(delays) + delay <= total:
        delays.append(delay)
        delay = min(delay * 2, ceiling)
    return tuple(delays)


@dataclass(frozen=True)
class RetryPolicy:
    provider: str
    delays: tuple[float, ...]
    """Seconds before each retry, as the provider documents them."""
    compressed: bool
    final_statuses: frozenset[int] = frozenset()
    """Non-2xx answers after which the provider stops retrying (e.g. Mailgun's 406)."""
    retries_client_errors: bool = True

    def next_delay(self, retries_done: int, status: int | None, time_scale: float) -> float | None:
        """Seconds until the next try after a failed one, or None when the provider gives up.

        ``status`` is None for a connection error or a time-out.
        """
        if status is not None and not self.retries(status):
            return None
        if retries_done >= len(self.delays):
            return None
        delay = self.delays[retries_done]
        return delay / time_scale if self.compressed else delay

    def retries(self, status: int) -> bool:
        if status in self.final_statuses:
            return False
        return self.retries_client_errors or status >= 500 or status == 429


POLICIES = {
    "sendgrid": RetryPolicy(
        "sendgrid",
        _doubling_until(MINUTE, HOUR, 24 * HOUR),
        compressed=True,
    ),
    "ses": RetryPolicy(
        "ses",
        (20.0, 20.0, 20.0),
        compressed=False,
        retries_client_errors=False,
    ),
    "mailgun": RetryPolicy(
        "mailgun",
        (5 * MINUTE, 10 * MINUTE, 15 * MINUTE, HOUR, 2 * HOUR, 4 * HOUR),
        compressed=True,
        final_statuses=frozenset({406}),
    ),
}
"""SendGrid: any non-2xx is retried at increasing intervals for up to 24 hours (modelled as doubling from
a minute, at most an hour apart). SNS (SES's transport), default HTTP/S delivery policy: three retries
20 s apart, for server errors and unreachable endpoints. Mailgun: 5, 10, 15 min, 1, 2, 4 h; a 406 ends it."""
