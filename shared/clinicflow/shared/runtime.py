"""The runtime every service shares: one FastAPI app whose lifespan migrates the schema, opens the pool, creates
topics, starts the Kafka broker (consumer) and the outbox relay, and serves health, readiness, metrics and AsyncAPI.

A service's ``app.py`` describes itself with a :class:`ServiceDefinition` and calls :func:`build_app`; nothing is
connected before the lifespan starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from clinicflow.shared.asyncapi import asyncapi_document
from clinicflow.shared.auth import TokenVerifier
from clinicflow.shared.catalogue import CATALOGUE, consumed_by, produced_by
from clinicflow.shared.consumer import EventConsumer, Handler
from clinicflow.shared.database import (
    Migration,
    check_migrated,
    create_pool,
    migrate,
    platform_migrations,
    transaction,
)
from clinicflow.shared.errors import DomainError, InvalidField, InvalidFields
from clinicflow.shared.kafka import KafkaPublisher, create_broker, ensure_topics
from clinicflow.shared.logs import configure_logging
from clinicflow.shared.loops import repeat
from clinicflow.shared.metrics import Metrics
from clinicflow.shared.openapi import OPERATIONS_TAG, declare_refusals
from clinicflow.shared.outbox import EventWriter, Outbox, OutboxRelay
from clinicflow.shared.settings import DatabaseSettings, MigrationSettings, ServiceSettings

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
T = TypeVar("T")


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


@dataclass
class ServiceDefinition:
    """Everything that makes one service different from another."""

    settings: ServiceSettings
    migrations: Sequence[Migration]
    routers: Sequence[APIRouter] = ()
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    urgent_events: frozenset[str] = frozenset()  # consumed on a lane of their own, never behind routine events
    background: Sequence[Callable[[ServiceRuntime], Awaitable[None]]] = ()
    description: str = ""


@dataclass
class ServiceRuntime:
    """What the running service holds; routes reach it through ``request.app.state.runtime``."""

    settings: ServiceSettings
    pool: asyncpg.Pool
    broker: object
    metrics: Metrics
    clock: Clock


def runtime_of(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the running service's runtime."""
    return request.app.state.runtime


def transactional(build: Callable[[asyncpg.Connection, EventWriter], T], *, source: str) -> Any:
    """A route dependency: a unit of work on one transaction, committed *before* the response is sent.

    ``scope="function"`` matters: FastAPI's default ends a yield dependency after the response has gone, so a
    client could be told 201 for a change whose commit then failed, or read before it is visible. A refusal marked
    ``keeps_work`` commits what the rules did for safety before refusing; every other failure rolls back.
    """

    async def unit_of_work(request: Request) -> AsyncIterator[T]:
        runtime = runtime_of(request)
        try:
            conn = await runtime.pool.acquire(timeout=runtime.settings.database.acquire_timeout_seconds)
        except TimeoutError:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the service is busy: try again shortly",
                                headers={"Retry-After": "1"}) from None
        try:
            tx = conn.transaction()
            await tx.start()
            try:
                yield build(conn, EventWriter(Outbox(conn), source=source, now=runtime.clock()))
            except DomainError as refused:
                await (tx.commit() if refused.keeps_work else tx.rollback())
                raise
            except BaseException:
                await tx.rollback()
                raise
            await tx.commit()
        finally:
            await runtime.pool.release(conn)

    return Depends(unit_of_work, scope="function")


def every_pass(name: str, work: Callable[[asyncpg.Connection, EventWriter], Awaitable[int]], *, source: str,
               idle_seconds: float) -> Callable[[ServiceRuntime], Awaitable[None]]:
    """A background task for :class:`ServiceDefinition`: ``work`` on one transaction with its event writer, repeated
    until cancelled (at once while it did something, after ``idle_seconds`` when idle, never dying: ``repeat``)."""

    async def run(runtime: ServiceRuntime) -> None:
        async def one_pass() -> int:
            async with transaction(runtime.pool) as conn:
                return await work(conn, EventWriter(Outbox(conn), source=source, now=runtime.clock()))

        await repeat(name, one_pass, idle_seconds=idle_seconds)

    return run


def build_app(definition: ServiceDefinition, *, clock: Clock = utc_now) -> FastAPI:
    """The service's ASGI app; run it with uvicorn (see the service's ``__main__``)."""
    settings = definition.settings
    undeclared = set(definition.handlers) - set(consumed_by(settings.service_name))
    if undeclared:  # the broker's ACLs, made from the catalogue, would refuse the read in production
        raise ValueError(f"{settings.service_name} handles {sorted(undeclared)}, which the event catalogue does not "
                         "name it a consumer of (shared/clinicflow/shared/catalogue.py)")
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        dsn = settings.database.url.get_secret_value()
        migrations = [*platform_migrations(), *definition.migrations]
        if settings.database.migrate_on_start:
            await migrate_schema(settings.db_schema, settings.database, migrations)
        else:
            await check_migrated(dsn, schema=settings.db_schema, migrations=migrations)
        pool = await create_pool(
            dsn,
            schema=settings.db_schema,
            min_size=settings.database.pool_min_size,
            max_size=settings.database.pool_max_size,
            statement_timeout_ms=settings.database.statement_timeout_ms,
        )
        broker = create_broker(settings.kafka, client_id=f"clinicflow-{settings.service_name}")
        # One producer per purpose, so replacing one after a failure (see KafkaPublisher) never disturbs the other.
        events_out = KafkaPublisher(settings.kafka, client_id=f"clinicflow-{settings.service_name}-outbox")
        dead_letters = KafkaPublisher(settings.kafka, client_id=f"clinicflow-{settings.service_name}-dead-letters")
        consumed = [CATALOGUE[t] for t in definition.handlers]
        produced = produced_by(settings.service_name)
        # What it writes and reads, and the dead-letter topics of what it reads: what its ACLs let it see.
        await ensure_topics(settings.kafka, [*(s.topic for s in produced),
                                             *(t for s in consumed for t in (s.topic, s.dead_letter_topic))])
        if definition.handlers:
            EventConsumer(
                service=settings.service_name,
                pool=pool,
                dead_letters=dead_letters,
                metrics=metrics,
                handlers=definition.handlers,
                retry_attempts=settings.consumer_retry_attempts,
                topic_prefix=settings.kafka.topic_prefix,
            ).subscribe(broker, urgent=definition.urgent_events)
        await broker.start()
        runtime = ServiceRuntime(settings=settings, pool=pool, broker=broker, metrics=metrics, clock=clock)
        app.state.runtime = runtime
        relay = OutboxRelay(
            dsn=dsn,
            pool=pool,
            schema=settings.db_schema,
            publisher=events_out,
            metrics=metrics,
            poll_seconds=settings.outbox_poll_seconds,
            retention=timedelta(hours=settings.outbox_retention_hours),
            inbox_retention=timedelta(hours=settings.inbox_retention_hours),
            topic_prefix=settings.kafka.topic_prefix,
        )
        tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
        tasks += [asyncio.create_task(start(runtime), name=getattr(start, "__name__", "background"))
                  for start in definition.background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            # Bounded like everything below: a background task that has not stopped within seconds is named and left.
            _, lingering = await asyncio.wait(tasks, timeout=10)
            for task in lingering:
                log.warning("background task did not stop in time", task=task.get_name())
            # Bounded: a service told to stop must stop, even with the broker or the database already gone.
            try:
                await asyncio.wait_for(broker.stop(), 10)
            except TimeoutError:
                log.warning("broker did not stop in time")
            await asyncio.gather(events_out.close(), dead_letters.close())
            try:
                await asyncio.wait_for(pool.close(), 5)
            except TimeoutError:
                pool.terminate()

    docs = {} if settings.api_docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title=f"clinicflow {settings.service_name}", description=definition.description, lifespan=lifespan,
                  **docs)
    app.state.token_verifier = TokenVerifier(settings.auth)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(_operations_router(definition, metrics))
    for router in definition.routers:
        app.include_router(router)
    app.add_exception_handler(DomainError, domain_error_response)
    declare_refusals(app)
    return app


async def domain_error_response(_request: Request, exc: Exception) -> JSONResponse:
    """A domain refusal as HTTP: its status code, and the field for 422."""
    assert isinstance(exc, DomainError)
    detail = exc.detail() if isinstance(exc, InvalidField | InvalidFields) else str(exc)
    return JSONResponse({"detail": detail}, status_code=exc.status_code)


def _operations_router(definition: ServiceDefinition, metrics: Metrics) -> APIRouter:
    router = APIRouter(tags=[OPERATIONS_TAG])
    name = definition.settings.service_name
    document = asyncapi_document(name, consumes=list(definition.handlers), description=definition.description)

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "The database or the broker does not answer."}})
    async def readyz(request: Request) -> JSONResponse:
        """The database and the Kafka broker both answer."""
        runtime: ServiceRuntime | None = getattr(request.app.state, "runtime", None)
        checks = {"database": False, "kafka": False}
        if runtime is not None:
            with contextlib.suppress(Exception):
                checks["database"] = await asyncio.wait_for(runtime.pool.fetchval("SELECT true"), 2)
            with contextlib.suppress(Exception):
                checks["kafka"] = await runtime.broker.ping(timeout=2)
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics", response_class=PlainTextResponse,
                responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                                 "description": "Prometheus text exposition."}})
    async def metrics_endpoint() -> PlainTextResponse:
        """Prometheus metrics."""
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    if definition.settings.api_docs:
        @router.get("/asyncapi.json")
        async def asyncapi() -> dict:
            """AsyncAPI 3.0 document of the events this service publishes and consumes."""
            return document

    return router


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413 before the route reads them."""

    def __init__(self, app, *, max_bytes: int) -> None:  # noqa: ANN001 - ASGI app
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI signature
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received, refused = 0, False

        async def counting_receive():  # noqa: ANN202 - a body sent in chunks, without a declared length
            nonlocal received, refused
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes and not refused:
                refused = True
                await self._too_large(scope, receive, send)
                return {"type": "http.disconnect"}  # the route stops reading; its own answer is dropped
            return message

        async def send_unless_refused(message) -> None:  # noqa: ANN001
            if not refused:
                await send(message)

        await self.app(scope, counting_receive, send_unless_refused)

    async def _too_large(self, scope, receive, send) -> None:  # noqa: ANN001
        response = JSONResponse({"detail": f"request body is larger than {self.max_bytes} bytes"}, status_code=413)
        await response(scope, receive, send)


async def migrate_schema(schema: str, database: DatabaseSettings, migrations: list[Migration]) -> list[str]:
    """Migrate the service's schema as its owner (the migrator login, or the service's own locally), granting the
    runtime role its access when one is named."""
    dsn = (database.migrator_url or database.url).get_secret_value()
    return await migrate(dsn, schema=schema, migrations=migrations, runtime_role=database.runtime_role)


def service_main(
    argv: list[str] | None,
    *,
    settings_class: type[ServiceSettings],
    create_app: Callable[[ServiceSettings], FastAPI],
    migrations: Callable[[], Sequence[Migration]],
) -> None:
    """A service's command line: ``serve`` (the default) until SIGINT/SIGTERM, or ``migrate`` its schema and exit.

    ``migrate`` reads only the schema and the database logins (:class:`MigrationSettings`): the migrator is given no
    service's secrets."""
    import argparse

    import uvicorn

    name = settings_class.model_fields["service_name"].default
    parser = argparse.ArgumentParser(prog=f"clinicflow-{name}")
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    if parser.parse_args(argv).command == "migrate":
        target = MigrationSettings.of(settings_class)
        configure_logging(target.log_level)
        applied = asyncio.run(migrate_schema(target.db_schema, target.database,
                                             [*platform_migrations(), *migrations()]))
        structlog.get_logger(__name__).info("schema migrated", schema=target.db_schema, applied=applied)
        return
    settings = settings_class()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, log_config=None,
                access_log=False)
