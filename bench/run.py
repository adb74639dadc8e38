"""``make bench`` / ``make bench-quick``: start Kafka once, take every figure, print and save the table."""

import argparse
import asyncio
import contextlib
import functools
import importlib
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import consume, publish
from bench.consume import CONSUMER_NAMES
from bench.environment import BenchEnv, fresh_topics
from bench.report import table
from bench.sizes import FULL, QUICK, Sizes
from seevee_deploy.kafka_jars import ensure_kafka_jars
from seevee_deploy.localkafka import LocalKafka
from seevee_deploy.localpostgres import LocalPostgres, postgres_bin_dir
from seevee_shared.logging import configure_logging

RESULTS = Path(__file__).resolve().parent / "results"

Figure = Callable[[BenchEnv, Sizes], Awaitable[dict[str, Any]]]


MODULES = {
    "ingest": "ingest",
    "publish": "publish",
    "consume": "consume",
    "e2e": "end_to_end",
    "dsn": "raw_emails",
    "runs-api": "runs_api",
}
"""Figure name -> its module in ``bench``; each has ``measure(env, sizes)``."""

NO_BROKER = frozenset({"dsn"})
"""Figures that need no Kafka: taken alone (``--only dsn``), no broker is started to compete for CPU."""


POSTGRES: dict[str, Figure] = {
    "publish-postgres": publish.measure_postgres,
    "consume-postgres": consume.measure_postgres,
}
"""Figures 2 and 3 again with every store (the anchors' too) on one PostgreSQL server of the run."""

CONSUME_ONE = {f"consume-{name}": name for name in CONSUMER_NAMES}
"""``consume-<service>``: figure 3 for one consumer alone (with its anchor)."""

CONSUME_ONE_POSTGRES = {f"consume-postgres-{name}": name for name in CONSUMER_NAMES}

ALL = [*MODULES, *POSTGRES]
"""What ``make bench`` takes, in this order."""


def figure(name: str) -> Figure:
    if name in CONSUME_ONE:
        return functools.partial(consume.measure, only=(CONSUME_ONE[name],))
    if name in CONSUME_ONE_POSTGRES:
        return functools.partial(consume.measure_postgres, only=(CONSUME_ONE_POSTGRES[name],))
    if name in POSTGRES:
        return POSTGRES[name]
    measure: Figure = importlib.import_module(f"bench.{MODULES[name]}").measure
    return measure


def needs_postgres(figures: list[str]) -> bool:
    return any(name in POSTGRES or name in CONSUME_ONE_POSTGRES for name in figures)


async def take(figures: list[str], sizes: Sizes, quick: bool) -> dict[str, Any]:
    jars = await asyncio.to_thread(ensure_kafka_jars)
    work_dir = Path(tempfile.mkdtemp(prefix="seevee-bench-"))
    # The full bench lets the JVM use its default JIT and GC; the quick one starts faster on CI.
    jvm_options = None if quick else ()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "kafka": jars.version,
            "platform": platform.platform(),
        },
        "seconds": {},
    }
    try:
        with contextlib.ExitStack() as stack:
            postgres = ""
            if needs_postgres(figures):
                bin_dir = postgres_bin_dir()
                if bin_dir is None:
                    raise SystemExit("the PostgreSQL figures need Debian's postgresql package (make setup)")
                server = stack.enter_context(LocalPostgres(bin_dir))
                postgres = server.url
                results["machine"]["postgres"] = bin_dir.parts[-2]
            if NO_BROKER.issuperset(figures):
                await _take_each(figures, BenchEnv("", work_dir, postgres), sizes, results)
            else:
                async with LocalKafka(work_dir / "kafka", jvm_options=jvm_options, heap="1g") as kafka:
                    env = BenchEnv(kafka.bootstrap_servers, work_dir, postgres)
                    await _take_each(figures, env, sizes, results)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return results


async def _take_each(figures: list[str], env: BenchEnv, sizes: Sizes, results: dict[str, Any]) -> None:
    for name in figures:
        started = time.perf_counter()
        try:
            if env.bootstrap:
                await fresh_topics(env.bootstrap, (publish.TOPIC,))
            taken = await figure(name)(env, sizes)
        except Exception as error:
            # The other figures are still taken and printed; the run ends failed (main's exit status).
            traceback.print_exc(limit=8, file=sys.stderr)
            results.setdefault("failed", {})[name] = repr(error)[:500]
            print(f"  {name}: FAILED ({type(error).__name__})", file=sys.stderr, flush=True)
            continue
        for key, value in taken.items():
            if isinstance(value, dict) and isinstance(results.get(key), dict):
                results[key].update(value)  # several consume-<service> figures share keys
            else:
                results[key] = value
        results["seconds"][name] = round(time.perf_counter() - started, 1)
        print(f"  {name}: done in {results['seconds'][name]} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every figure at a tiny size (CI)")
    parser.add_argument(
        "--only",
        choices=[*ALL, *CONSUME_ONE, *CONSUME_ONE_POSTGRES],
        action="append",
        help="take only these figures",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help="where to write the JSON (default bench/results/; partial.json with --only)",
    )
    args = parser.parse_args(argv)
    configure_logging("bench", "WARNING")
    # The client retries leader moves after topics are recreated; its notes would drown the table.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    sizes = QUICK if args.quick else FULL
    figures = args.only or ALL
    started = time.perf_counter()
    results = asyncio.run(take(figures, sizes, args.quick))
    results["seconds"]["total"] = round(time.perf_counter() - started, 1)
    # A partial run never replaces the record of a whole one.
    default = "partial.json" if args.only else "quick.json" if args.quick else "latest.json"
    output = args.output or RESULTS / default
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(table(results))
    print(f"\nwritten to {output}")
    if results.get("failed"):
        raise SystemExit(f"figures failed: {', '.join(sorted(results['failed']))}")


if __name__ == "__main__":
    main()
