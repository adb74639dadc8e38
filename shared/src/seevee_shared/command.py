"""``seevee serve|migrate|topics|probe``: how an installed service runs, e.g. in a container image.

One image holds the five services; the command picks one. ``migrate`` upgrades each named service's
store to the head of the migrations inside its package and exits (the one-shot job before the services
start); ``topics`` creates the missing topics with the settings' partitions, replication factor and
retention (for clusters where services run with ``TOPIC_CREATE=false``); ``probe`` is the health check.
A service is named as in ARCHITECTURE (``task-service``); its package (``task_service``) must be installed.
"""

import argparse
import asyncio
import importlib
import os
import sys
import urllib.request
from typing import Any

SERVICES = ("bounce-ingest", "run-orchestrator", "task-service", "thread-service", "refund-service")


def _app_module(service: str) -> Any:
    return importlib.import_module(f"{service.replace('-', '_')}.app")


async def _migrate(service: str) -> None:
    runtime = _app_module(service).create_app().state.runtime
    try:
        await runtime.migrate()
    finally:
        await runtime.db.dispose()


async def _topics() -> None:
    from seevee_shared.kafka_admin import ensure_topics
    from seevee_shared.kafka_security import client_options
    from seevee_shared.settings import ServiceSettings

    settings = ServiceSettings()
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
        retention_ms=settings.topic_retention_ms,
        dlq_retention_ms=settings.dlq_retention_ms,
        client_options=client_options(settings),
        wait_seconds=120.0,
    )


def _serve(service: str, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        f"{service.replace('-', '_')}.app:create_app",
        factory=True,
        host=host,
        port=port,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        timeout_graceful_shutdown=20,
    )


def _probe(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return 0 if answer.status == 200 else 1
    except OSError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="seevee", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    port = int(os.environ.get("PORT", "8000"))
    serve = commands.add_parser("serve", help="run the service's API, consumers and outbox relay")
    serve.add_argument("service", choices=SERVICES)
    serve.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))  # noqa: S104 (a container)
    serve.add_argument("--port", type=int, default=port)
    migrate = commands.add_parser("migrate", help="upgrade each service's store to its newest migration")
    migrate.add_argument("services", nargs="+", choices=SERVICES, metavar="service")
    commands.add_parser("topics", help="create the missing topics (every event topic and dead letters)")
    probe = commands.add_parser("probe", help="exit 0 when the local service answers 200")
    probe.add_argument("--port", type=int, default=port)
    probe.add_argument("--path", default="/readyz", choices=["/healthz", "/readyz"])
    args = parser.parse_args(argv)
    if args.command == "serve":
        _serve(args.service, args.host, args.port)
    elif args.command == "migrate":
        for service in args.services:
            asyncio.run(_migrate(service))
            print(f"{service}: store migrated", flush=True)
    elif args.command == "topics":
        asyncio.run(_topics())
        print("topics: present", flush=True)
    else:
        sys.exit(_probe(args.port, args.path))


if __name__ == "__main__":
    main()
