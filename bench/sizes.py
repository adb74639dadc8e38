"""How much work each figure does: the full bench, and the tiny one CI runs to keep the harness working."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    repetitions: int
    warmups: int
    ingest_batches: int
    """SendGrid posts of ``ingest_batch_size`` events per repetition."""
    ingest_batch_size: int
    ses_posts: int
    http_concurrency: int
    publish_events: int
    consume_events: int
    e2e_throughput_bounces: int
    e2e_batch_size: int
    e2e_latency_bounces: int
    """Bounces per latency repetition, posted at half the measured rate."""
    round_trips: int
    api_runs: int
    """Runs created through `POST /v1/runs` per repetition (figure 6)."""
    dsn_files: int | None
    """Files of the DSN corpus per repetition; None: all of them."""


FULL = Sizes(
    repetitions=5,
    warmups=1,
    ingest_batches=6,
    ingest_batch_size=500,
    ses_posts=200,
    http_concurrency=4,
    publish_events=20_000,
    consume_events=20_000,
    e2e_throughput_bounces=600,
    e2e_batch_size=50,
    e2e_latency_bounces=200,
    round_trips=400,
    api_runs=600,
    dsn_files=None,
)
"""The issue's sizes (20,000 events per consumer), within the 10-minute budget at today's speeds."""

QUICK = Sizes(
    repetitions=5,
    warmups=1,
    ingest_batches=2,
    ingest_batch_size=50,
    ses_posts=20,
    http_concurrency=2,
    publish_events=300,
    consume_events=600,
    e2e_throughput_bounces=60,
    e2e_batch_size=10,
    e2e_latency_bounces=10,
    round_trips=50,
    api_runs=60,
    dsn_files=60,
)
