"""Where figure 4's latency goes: each effect's latency, and each consumer hop read from record times.

``python -m bench.latency_hops [RATE] [BOUNCES] [REPETITIONS]`` (defaults 275, 200, 7): the five
services as figure 4 runs them, bounces posted at RATE/s as in its latency half, REPETITIONS rounds of
BOUNCES, the first left out as a warm-up. Pooled over the rest it prints, per effect topic and for
``message.bounced``, the latency from the webhook's answer to the first record seen here, and for each
effect the gap between the produce times of ``message.bounced`` and of the effect (the consumer hop:
fetch, poll, commit, and its relay until the record was appended). Asserts nothing.
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from bench import end_to_end, scenario
from bench.stats import percentile
from bounce_ingest.providers.signing import SendGridSigner
from seevee_deploy.localkafka import LocalKafka, create_topics
from seevee_shared.events import ALL_TOPICS, Topic


def _line(name: str, values: list[float]) -> str:
    p50, p90, p99 = (percentile(values, share) for share in (0.5, 0.9, 0.99))
    return f"{name:<46} p50 {p50:6.0f}  p90 {p90:6.0f}  p99 {p99:6.0f} ms"


async def main(rate: float, bounces: int, repetitions: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="seevee-latency-"))
    signer = SendGridSigner()
    people = scenario.contacts(scenario.unique_tag(), bounces * repetitions)
    async with LocalKafka(data_dir=folder / "kafka") as kafka:
        bootstrap = kafka.bootstrap_servers
        await create_topics(bootstrap, ALL_TOPICS)
        async with (
            end_to_end.prepared_stack(folder, bootstrap, signer, people) as stack,
            end_to_end.watching(bootstrap, also=(Topic.MESSAGE_BOUNCED,)) as effects,
        ):
            accepted: dict[str, float] = {}
            for repetition in range(repetitions):
                chunk = people[repetition * bounces : (repetition + 1) * bounces]
                answered = await end_to_end.steady_posts(
                    stack.urls["bounce-ingest"], signer, effects, chunk, rate
                )
                if repetition:
                    accepted |= answered
                await asyncio.sleep(2.0)
    print(f"{len(accepted)} bounces at {rate:g}/s, after a warm-up round of {bounces}")
    print(_line("all four effects (figure 4's latency)", end_to_end.latencies_ms(effects, accepted)))
    for topic in (Topic.MESSAGE_BOUNCED, *end_to_end.EFFECTS):
        seen = [
            (effects.first[(c, topic)][0] - at) * 1000
            for c, at in accepted.items()
            if (c, topic) in effects.first
        ]
        print(_line(f"{topic}: webhook answered -> seen", seen))
    for topic in end_to_end.EFFECTS:
        gaps = [
            (effects.first[(c, topic)][1] - effects.first[(c, Topic.MESSAGE_BOUNCED)][1]) * 1000
            for c in accepted
            if (c, topic) in effects.first and (c, Topic.MESSAGE_BOUNCED) in effects.first
        ]
        print(_line(f"{topic}: produced after message.bounced", gaps))


if __name__ == "__main__":
    arguments = [float(value) for value in sys.argv[1:4]]
    defaults = [275.0, 200.0, 7.0]
    rate, bounces, repetitions = [*arguments, *defaults[len(arguments) :]]
    asyncio.run(main(rate, int(bounces), int(repetitions)))
