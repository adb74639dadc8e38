"""Figure 1: webhook events/s accepted by bounce-ingest against a bare endpoint that only parses JSON.

Both run under uvicorn in a child process, loaded by the same client. Every SendGrid event and SES post
is a new bounce of a message bounce-ingest knows, so each one is stored, matched and queued in the
outbox before the 2xx, as in production.
"""

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import scenario
from bench.environment import BenchEnv
from bench.feed import publish_events
from bench.http_load import post_all
from bench.metrics import wait_consumed
from bench.repetition import median_of
from bench.servers import served
from bench.sizes import Sizes
from bench.stats import ratio
from bounce_ingest.providers.signing import SendGridSigner, SignedRequest, SnsSigner, sns_notification
from seevee_shared.events import Topic

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:bench-ses-bounces"
KNOWN_MESSAGES = 2_000
"""Bounces cycle over this many sent messages; each bounce is still distinct (its own event id)."""


class Posts:
    """Signed requests, made fresh per repetition so no event is ever a duplicate."""

    def __init__(self, sizes: Sizes, known: list[scenario.Contact], cert_dir: Path) -> None:
        self.sizes = sizes
        self.known = known
        self.sendgrid = SendGridSigner()
        self.sns = SnsSigner(cert_dir)
        self._next = -1

    def sendgrid_batches(self) -> list[SignedRequest]:
        now = datetime.now(UTC)
        batches = []
        for _ in range(self.sizes.ingest_batches):
            events = [
                scenario.sendgrid_bounce(self._contact(), f"sg-{uuid.uuid4().hex}", now)
                for _ in range(self.sizes.ingest_batch_size)
            ]
            batches.append(self.sendgrid.sign(events, int(time.time())))
        return batches

    def ses_posts(self) -> list[SignedRequest]:
        now = datetime.now(UTC)
        return [
            self.sns.sign(
                sns_notification(
                    TOPIC_ARN,
                    scenario.ses_bounce(self._contact(), f"fb-{uuid.uuid4().hex}", now),
                    str(uuid.uuid4()),
                    now,
                )
            )
            for _ in range(self.sizes.ses_posts)
        ]

    def _contact(self) -> scenario.Contact:
        self._next += 1
        return self.known[self._next % len(self.known)]


async def _rates(url: str, posts: Posts, sizes: Sizes) -> tuple[float, float]:
    """Median SendGrid events/s and SES requests/s against one server."""

    async def sendgrid_trial(_number: int) -> float:
        batches = posts.sendgrid_batches()
        elapsed = await post_all(f"{url}/v1/webhooks/sendgrid", batches, sizes.http_concurrency)
        return sizes.ingest_batches * sizes.ingest_batch_size / elapsed

    async def ses_trial(_number: int) -> float:
        requests = posts.ses_posts()
        return len(requests) / await post_all(f"{url}/v1/webhooks/ses", requests, sizes.http_concurrency)

    sendgrid = await median_of(sendgrid_trial, sizes.repetitions, sizes.warmups)
    ses = await median_of(ses_trial, sizes.repetitions, sizes.warmups)
    return sendgrid.median, ses.median


async def measure(env: BenchEnv, sizes: Sizes) -> dict[str, Any]:
    folder = env.folder("ingest")
    known = scenario.contacts(
        scenario.unique_tag(), min(KNOWN_MESSAGES, sizes.ingest_batches * sizes.ingest_batch_size)
    )
    posts = Posts(sizes, known, folder / "sns-certs")
    service_env = {
        "INGEST_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'ingest.db'}",
        "KAFKA_BOOTSTRAP_SERVERS": env.bootstrap,
        "SENDGRID_WEBHOOK_PUBLIC_KEY": posts.sendgrid.public_key_b64,
        "SES_SNS_TOPIC_ARNS": TOPIC_ARN,
        "SES_SNS_CERT_DIR": str(folder / "sns-certs"),
    }
    sent_at = scenario.earlier(minutes=10)
    await publish_events(env.bootstrap, [scenario.message_sent(c, None, sent_at) for c in known])
    async with served("bounce_ingest.app:create_app", service_env, folder / "ingest.log", "/readyz") as ours:
        await wait_consumed(ours.url, Topic.MESSAGE_SENT, len(known))
        ours_sendgrid, ours_ses = await _rates(ours.url, posts, sizes)
    async with served("bench.bare_app:create_app", {}, folder / "bare.log") as bare:
        bare_sendgrid, bare_ses = await _rates(bare.url, posts, sizes)
    return {
        "ingest_events_per_s": ours_sendgrid,
        "bare_events_per_s": bare_sendgrid,
        "ingest_ratio": ratio(ours_sendgrid, bare_sendgrid),
        "ses_requests_per_s": ours_ses,
        "bare_ses_requests_per_s": bare_ses,
        "ses_ratio": ratio(ours_ses, bare_ses),
    }
