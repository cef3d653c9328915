"""Idempotent event consumption: parse, deduplicate (inbox), apply in one transaction, or dead-letter.

One subscriber per service listens to every topic the service consumes and routes on the envelope's ``type``. For
each message:
- it cannot be parsed or validated, or its handler refuses it → the raw bytes go to ``<topic>.dlq`` with headers
  saying why and where from, and the offset moves on;
- the event id is already in the inbox → nothing happens again;
- otherwise the inbox row and the handler's writes (and the events it causes, via the outbox) commit together;
- a transient failure (database unreachable) is retried with backoff, then the message is re-delivered: the offset
  is never committed past it (``AckPolicy.NACK_ON_ERROR``: commit after success, seek back after an error).
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel, ValidationError

from clinicflow.shared.catalogue import CATALOGUE, EventSpec, consumer_group
from clinicflow.shared.envelope import Envelope
from clinicflow.shared.kafka import OutgoingMessage, Publisher
from clinicflow.shared.logs import bind_event_context, clear_event_context
from clinicflow.shared.metrics import Metrics
from clinicflow.shared.outbox import EventWriter, Outbox
from clinicflow.shared.retry import Backoff, is_perhaps_transient, is_transient

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Delivery:
    """An event being handled, with its typed payload and the transaction to apply it in."""

    envelope: Envelope
    payload: BaseModel
    connection: asyncpg.Connection

    @property
    def outbox(self) -> Outbox:
        """Where the events this delivery causes go, in the same transaction."""
        return Outbox(self.connection)

    def events(self, source: str, now: datetime) -> EventWriter:
        """An event writer whose events name this delivery as their cause."""
        return EventWriter(self.outbox, source=source, now=now, cause=self.envelope)


Handler = Callable[[Delivery], Awaitable[None]]


class Rejected(Exception):
    """A handler refuses an event for good (invalid, or it contradicts what this service knows): dead-letter it.

    ``reason`` is a short code and ``detail`` names fields and rules, never values from the event.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


_RECORD_PROCESSED = """
INSERT INTO processed_messages (consumer, event_id) VALUES ($1, $2)
ON CONFLICT DO NOTHING
RETURNING event_id"""


class EventConsumer:
    """Routes a service's incoming events to its handlers, exactly once in effect."""

    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        dead_letters: Publisher,
        metrics: Metrics,
        handlers: Mapping[str, Handler],
        retry_attempts: int = 5,
        topic_prefix: str = "",
    ) -> None:
        self.service = service
        self._pool = pool
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._handlers = dict(handlers)
        self._retry_attempts = retry_attempts
        self._topic_prefix = topic_prefix

    @property
    def group_id(self) -> str:
        """The Kafka consumer group: one per service."""
        return consumer_group(self.service, self._topic_prefix)

    def subscribe(self, broker: KafkaBroker, *, urgent: frozenset[str] = frozenset()) -> None:
        """Register the subscribers on ``broker`` (before it starts).

        Urgent event types get a consumer of their own in the same group, so a backlog of routine events never
        delays a safety alert; each consumer still handles its messages one at a time, in order.
        """

        async def on_message(message: KafkaMessage) -> None:
            await self.handle(message)

        lanes = {"urgent": [t for t in self._handlers if t in urgent],
                 "routine": [t for t in self._handlers if t not in urgent]}
        for lane, event_types in lanes.items():
            if event_types:
                broker.subscriber(
                    *(self._topic_prefix + CATALOGUE[t].topic for t in event_types),
                    group_id=self.group_id,
                    ack_policy=AckPolicy.NACK_ON_ERROR,
                    auto_offset_reset="earliest",
                    title=f"{self.service}-{lane}-events",
                )(on_message)

    async def handle(self, message: KafkaMessage) -> None:
        """Process one Kafka message; raises only for transient failures, so it is re-delivered."""
        record = message.raw_message
        try:
            envelope, spec, payload = self._parse(record.topic, message.body)
        except Rejected as poison:
            await self._dead_letter(record, poison)
            return
        bind_event_context(
            event_id=str(envelope.id),
            event_type=envelope.type,
            correlation_id=str(envelope.correlation_id),
            pathway_id=str(envelope.subject),
        )
        try:
            await self._apply_with_retries(envelope, spec, payload, record)
        finally:
            clear_event_context()

    def _parse(self, topic: str, body: bytes) -> tuple[Envelope, EventSpec, BaseModel]:
        try:
            envelope = Envelope.from_bytes(body)
        except ValidationError as exc:
            raise Rejected("invalid_envelope", describe_validation_error(exc)) from None
        spec = CATALOGUE.get(envelope.type)
        if spec is None or self._topic_prefix + spec.topic != topic or envelope.type not in self._handlers:
            raise Rejected("unexpected_event_type", f"type {envelope.type[:100]!r} on topic {topic}")
        if spec.source is not None and envelope.source != spec.source:
            # Only the producing service may say, e.g., that a screening was signed off (docs/contracts.md).
            raise Rejected("unexpected_source", f"{envelope.type} from {envelope.source[:100]!r}, not {spec.source!r}")
        try:
            payload = spec.payload.model_validate(envelope.data)
        except ValidationError as exc:
            raise Rejected("invalid_payload", describe_validation_error(exc, within="data")) from None
        return envelope, spec, payload

    async def _apply_with_retries(self, envelope: Envelope, spec: EventSpec, payload: BaseModel, record) -> None:  # noqa: ANN001
        backoff = Backoff()
        for attempt in range(1, self._retry_attempts + 1):
            started = time.perf_counter()
            try:
                applied = await self._apply(envelope, payload)
            except Rejected as exc:
                await self._dead_letter(record, exc, envelope)
                return
            except Exception as exc:
                transient = is_transient(exc)
                if not transient and (not is_perhaps_transient(exc) or attempt == self._retry_attempts):
                    # A defect or an unforeseen input: keep the partition moving.
                    await self._park(record, envelope, exc)
                    return
                self._metrics.failed.labels(kind="transient").inc()
                log.warning("transient failure handling event", error=type(exc).__name__, attempt=attempt)
                if attempt == self._retry_attempts:
                    raise  # not acknowledged: the broker hands it to us again
                await asyncio.sleep(backoff.next())
                continue
            self._metrics.handler_seconds.labels(type=envelope.type).observe(time.perf_counter() - started)
            counter = self._metrics.consumed if applied else self._metrics.duplicates
            counter.labels(type=envelope.type).inc()
            log.info("event handled" if applied else "duplicate event skipped")
            return

    async def _park(self, record, envelope: Envelope, exc: Exception) -> None:  # noqa: ANN001
        self._metrics.failed.labels(kind="handler_error").inc()
        # The stack without the exception's message: messages may quote identifiable input.
        where = "".join(traceback.format_tb(exc.__traceback__)[-3:])
        log.error("handler failed; dead-lettering the event", error=type(exc).__name__, where=where)
        await self._dead_letter(record, Rejected("handler_error", type(exc).__name__), envelope)

    async def _apply(self, envelope: Envelope, payload: BaseModel) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(_RECORD_PROCESSED, self.service, envelope.id) is None:
                return False
            await self._handlers[envelope.type](Delivery(envelope, payload, conn))
            return True

    async def _dead_letter(self, record, poison: Rejected, envelope: Envelope | None = None) -> None:  # noqa: ANN001
        headers = {
            DLQ_REASON: poison.reason,
            DLQ_DETAIL: poison.detail[:500],
            DLQ_SOURCE_TOPIC: record.topic,
            DLQ_SOURCE_PARTITION: str(record.partition),
            DLQ_SOURCE_OFFSET: str(record.offset),
            DLQ_CONSUMER: self.group_id,
            DLQ_FAILED_AT: datetime.now(UTC).isoformat(),
        }
        if envelope is not None:
            headers[DLQ_EVENT_ID] = str(envelope.id)
        # Raises PublishFailed if Kafka refuses: the message is then not acknowledged and comes back.
        await self._dead_letters.send_in_order(
            [OutgoingMessage(f"{record.topic}.dlq", record.key, record.value, headers)]
        )
        self._metrics.dead_lettered.labels(topic=record.topic).inc()
        log.warning("message dead-lettered", reason=poison.reason, topic=record.topic, offset=record.offset)


DLQ_REASON = "dlq_reason"
DLQ_DETAIL = "dlq_detail"
DLQ_SOURCE_TOPIC = "dlq_source_topic"
DLQ_SOURCE_PARTITION = "dlq_source_partition"
DLQ_SOURCE_OFFSET = "dlq_source_offset"
DLQ_CONSUMER = "dlq_consumer"
DLQ_FAILED_AT = "dlq_failed_at"
DLQ_EVENT_ID = "dlq_event_id"


def describe_validation_error(exc: ValidationError, *, within: str = "") -> str:
    """Where and how validation failed, without the offending values (they may be identifiable)."""
    return "; ".join(
        f"{'.'.join(map(str, (within, *e['loc']) if within else e['loc'])) or '<root>'}: {e['type']}"
        for e in exc.errors()[:10]
    )
