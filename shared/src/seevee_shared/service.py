"""The composition every service shares: store, broker, consumers, outbox relay, health, metrics, errors.

A service hands over its settings, handlers, routers and background loops; ``build_service`` returns
the FastAPI app whose lifespan migrates the store, starts the relay and the consumers, and stops them.
"""

import asyncio
import contextlib
import gc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import APIRouter, FastAPI, Request, Response
from faststream.kafka import KafkaBroker
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seevee_shared.bus.consumer import EventConsumer
from seevee_shared.bus.outbox import OutboxRelay, new_producer
from seevee_shared.bus.seam import Handlers
from seevee_shared.db import Database
from seevee_shared.http import install_problem_handlers, problem_response
from seevee_shared.kafka_admin import ensure_topics
from seevee_shared.kafka_security import broker_security, client_options
from seevee_shared.logging import configure_logging, get_logger
from seevee_shared.settings import ServiceSettings
from seevee_shared.store import SqlRows, Store

Background = Callable[[Database, Any], Awaitable[None]]
Registry = Handlers[Any]
"""A service's handlers: the seam's registry (topic -> payload model -> handler, and its store)."""
S = TypeVar("S", bound=Store)
log = get_logger(__name__)


def store_dependency(store: Callable[[SqlRows], S]) -> Callable[[Request], AsyncIterator[S]]:
    """A FastAPI dependency giving a route the service's store in a transaction of its own: what the
    route changed is written when it returns (an error rolls all back), then the relay is woken if it
    published anything (a wake-up costs the relay a read of the outbox)."""

    async def dependency(request: Request) -> AsyncIterator[S]:
        async with request.app.state.db.transaction() as session:
            opened = store(SqlRows(await session.connection()))
            yield opened
            await opened.write()
        if opened.published:
            request.app.state.relay.wake()

    return dependency


class ServiceRuntime:
    """What one running service holds; kept on ``app.state.runtime`` for tests and probes."""

    def __init__(
        self,
        name: str,
        settings: ServiceSettings,
        handlers: Registry | None,
        migrations_dir: Path | None,
        background: Sequence[Background],
    ) -> None:
        self.name = name
        self.settings = settings
        self.db = Database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
        )
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            client_id=name,
            logger=None,
            security=broker_security(settings),
        )
        self.producer: AIOKafkaProducer | None = None
        self.relay = OutboxRelay(
            self.db,
            None,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
            reconcile_with=self._topic_reader,
        )
        self.consumer: EventConsumer | None = None
        if handlers:
            self.consumer = EventConsumer(
                group=settings.consumer_group or name,
                db=self.db,
                handlers=handlers,
                max_attempts=settings.consumer_max_attempts,
                backoff_seconds=settings.retry_backoff_seconds,
                after_commit=self.relay.wake,
            )
            self.consumer.attach(
                self.broker,
                max_records=settings.consumer_max_records,
                instance_id=settings.consumer_instance_id,
            )
        self.migrations_dir = migrations_dir
        self.background = background
        self._tasks: list[asyncio.Task[None]] = []

    def _topic_reader(self) -> AIOKafkaConsumer:
        """A consumer with no group, for the relay to look up what a killed predecessor sent."""
        return AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=f"{self.name}-outbox-reconcile",
            group_id=None,
            enable_auto_commit=False,
            **client_options(self.settings),
        )

    async def migrate(self) -> None:
        if self.migrations_dir is not None:
            await self.db.upgrade(self.migrations_dir)

    async def start(self) -> None:
        """The store, the topics and the producer are made ready side by side (each is a round trip or
        more to another server, and a restarted consumer is down until all three are), then the relay
        and the consumers start."""
        settings = self.settings
        settings.refuse_unsafe_production()
        # Kafka clients bind to the running loop, so they are made here rather than at build time.
        self.producer = new_producer(
            settings.kafka_bootstrap_servers, f"{self.name}-outbox", **client_options(settings)
        )
        try:
            async with asyncio.TaskGroup() as group:
                if settings.migrate_on_start:
                    group.create_task(self.migrate())
                if settings.topic_create:
                    group.create_task(
                        ensure_topics(
                            settings.kafka_bootstrap_servers,
                            partitions=settings.topic_partitions,
                            replication_factor=settings.topic_replication_factor,
                            retention_ms=settings.topic_retention_ms,
                            dlq_retention_ms=settings.dlq_retention_ms,
                            client_options=client_options(settings),
                        )
                    )
                group.create_task(self.producer.start())
        except BaseExceptionGroup as failed:  # the operator reads the first failure itself
            with contextlib.suppress(Exception):  # started before the failure, or half-way
                await self.producer.stop()
            self.producer = None
            raise failed.exceptions[0] from None
        self.relay.producer = self.producer
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.name}-outbox-relay"))
        await self.broker.start()
        for loop in self.background:
            self._tasks.append(asyncio.create_task(_supervised(loop, self.db, self.settings)))
        gc.freeze()  # what startup made lives as long as the process: no collection rescans it per poll
        log.info("service started", service=self.name)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await self.broker.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await self.relay.publish_pending()
        self.relay.close()
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
            self.producer = None
        await self.db.dispose()

    async def ready(self) -> str | None:
        """None when the store and the broker answer, else which one does not (the error is logged,
        never answered: it may name hosts, paths or credentials)."""
        try:
            await asyncio.wait_for(self.db.ping(), timeout=3)
        except Exception as exc:
            log.warning("not ready: database", error=repr(exc))
            return "the database does not answer"
        try:
            if not await self.broker.ping(timeout=3):
                return "kafka does not answer"
        except Exception as exc:
            log.warning("not ready: kafka", error=repr(exc))
            return "kafka does not answer"
        return None


async def _supervised(loop: Background, db: Database, settings: Any) -> None:
    """Keep a background loop alive: a crash is logged and the loop restarted after a pause."""
    while True:
        try:
            await loop(db, settings)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background loop failed; restarting", loop=getattr(loop, "__name__", str(loop)))
            await asyncio.sleep(1.0)


class _RequestLogContext:
    """Each request's log lines carry a trace id: the caller's ``X-Request-Id`` or a new one (pure ASGI,
    so the webhook path pays no streaming middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"")[:100].decode("latin-1")
        trace_id = given or uuid.uuid4().hex

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", trace_id.encode("latin-1")),
                ]
            await send(message)

        with structlog.contextvars.bound_contextvars(trace_id=trace_id, path=scope.get("path", "")):
            await self.app(scope, receive, send_with_trace)


def _ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", response_model=None)
    async def readyz(request: Request) -> dict[str, str] | Response:
        problem = await request.app.state.runtime.ready()
        if problem:
            return problem_response(503, "Service Unavailable", problem, instance="/readyz")
        return {"status": "ready"}

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def build_service(
    *,
    name: str,
    settings: ServiceSettings,
    handlers: Registry | None = None,
    routers: Sequence[APIRouter] = (),
    migrations_dir: Path | None = None,
    background: Sequence[Background] = (),
    description: str = "",
) -> FastAPI:
    configure_logging(name, settings.log_level)
    runtime = ServiceRuntime(name, settings, handlers, migrations_dir, background)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title=name, description=description, lifespan=lifespan)
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.db = runtime.db
    app.state.relay = runtime.relay
    app.state.broker = runtime.broker
    install_problem_handlers(app)
    app.add_middleware(_RequestLogContext)
    app.include_router(_ops_router())
    for router in routers:
        app.include_router(router)
    return app
