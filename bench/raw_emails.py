"""Figure 5: raw bounce emails classified per second, ours against flufl.bounce over the same files."""

import email
import time
from email.message import Message
from typing import Any

from flufl.bounce import all_failures

from bench.environment import BenchEnv
from bench.repetition import paired_medians
from bench.sizes import Sizes
from bench.stats import ratio
from bounce_ingest.cli import email_files
from bounce_ingest.dsn.parser import parse_bounce_email
from seevee_shared.reference_data import shared_dir


def corpus() -> list[bytes]:
    """The DSN corpus read once into memory: both sides then time parsing, not the disk."""
    root = shared_dir() / "corpus" / "dsn"
    return [path.read_bytes() for path in email_files([root / "maildir"])]


def classify_ours(emails: list[bytes]) -> None:
    """What ``bounce-ingest classify`` does per file, minus printing: parse and serialize the answer."""
    for raw in emails:
        parse_bounce_email(raw).model_dump(mode="json")


def classify_flufl(emails: list[bytes]) -> None:
    for raw in emails:
        message: Message = email.message_from_bytes(raw)
        all_failures(message)


async def measure(_env: BenchEnv, sizes: Sizes) -> dict[str, Any]:
    emails = corpus()[: sizes.dsn_files]

    def timed(classify: Any) -> Any:
        async def trial(_number: int) -> float:
            started = time.perf_counter()
            classify(emails)
            return len(emails) / (time.perf_counter() - started)

        return trial

    ours, flufl = await paired_medians(
        timed(classify_ours), timed(classify_flufl), sizes.repetitions, sizes.warmups
    )
    return {
        "dsn_emails": len(emails),
        "dsn_emails_per_s": ours.median,
        "flufl_emails_per_s": flufl.median,
        "dsn_ratio": ratio(ours.median, flufl.median),
    }
