"""Idempotent event consumption: parse, deduplicate (inbox), apply in one transaction, or dead-letter.

One subscriber per service listens to every topic the service consumes and routes on the envelope's ``type``. It
takes what the broker has in batches (up to ``BATCH_SIZE``), and for each message:
- it cannot be parsed or validated, or its handler refuses it → the raw bytes go to ``<topic>.dlq`` with headers
  saying why and where from, and the offset moves on;
- the event id is already in the inbox → nothing happens again;
- otherwise the inbox row and the handler's writes (and the events it causes, via the outbox) commit together;
- a transient failure (database unreachable) is retried with backoff, then the batch is re-delivered: the offset
  is never committed past it (``AckPolicy.NACK_ON_ERROR``: commit after success, seek back after an error).

A batch is applied in one transaction, which is what makes a busy service fast (one commit and one offset commit
for many events instead of one each). If anything in it fails, it is rolled back whole and its events are applied
again one at a time, each in its own transaction: a poison event still goes alone to its dead-letter topic.
"""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog
from aiokafka import ConsumerRecord
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
INSERT INTO processed_messages (consumer, event_id) SELECT $1, unnest($2::uuid[])
ON CONFLICT DO NOTHING
RETURNING event_id"""

# Events taken from the broker at once. A batch of this many takes a busy service well under a second to apply,
# far inside the broker's poll interval, and one rolled-back batch redoes little.
BATCH_SIZE = 100
# How long an idle subscriber waits for messages before FastStream pauses as long again: an event arriving during
# the pause waits for it, so it is short (the default, 200 ms, put 100 ms on every hop of a quiet system).
IDLE_WAIT_MS = 20


@dataclass(frozen=True)
class _Incoming:
    """One parsed message of a batch."""

    record: ConsumerRecord
    envelope: Envelope
    payload: BaseModel


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
        delays a safety alert; each consumer handles its messages in order, a batch at a time.
        """

        async def on_batch(message: KafkaMessage) -> None:
            await self.handle(message.raw_message)

        lanes = {"urgent": [t for t in self._handlers if t in urgent],
                 "routine": [t for t in self._handlers if t not in urgent]}
        for lane, event_types in lanes.items():
            if event_types:
                broker.subscriber(
                    *(self._topic_prefix + CATALOGUE[t].topic for t in event_types),
                    group_id=self.group_id,
                    ack_policy=AckPolicy.NACK_ON_ERROR,
                    auto_offset_reset="earliest",
                    batch=True,
                    max_records=BATCH_SIZE,
                    batch_timeout_ms=IDLE_WAIT_MS,
                    title=f"{self.service}-{lane}-events",
                )(on_batch)

    async def handle(self, records: Sequence[ConsumerRecord]) -> None:
        """Process a batch of Kafka messages; raises only for transient failures, so the batch is re-delivered."""
        batch = []
        for record in records:
            try:
                envelope, _spec, payload = self._parse(record.topic, record.value)
            except Rejected as poison:
                await self._dead_letter(record, poison)
                continue
            batch.append(_Incoming(record, envelope, payload))
        if len(batch) > 1:
            started = time.perf_counter()
            try:
                applied = await self._apply(batch)
            except Exception as exc:  # one bad event spoils the batch: each goes again on its own below
                clear_event_context()
                log.info("batch rolled back; applying its events one at a time", size=len(batch),
                         error=type(exc).__name__)
            else:
                clear_event_context()
                self._count(batch, applied, seconds=(time.perf_counter() - started) / len(batch))
                return
        for incoming in batch:
            _bind(incoming.envelope)
            try:
                await self._apply_with_retries(incoming)
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

    async def _apply_with_retries(self, incoming: _Incoming) -> None:
        backoff = Backoff()
        for attempt in range(1, self._retry_attempts + 1):
            started = time.perf_counter()
            try:
                applied = await self._apply([incoming])
            except Rejected as exc:
                await self._dead_letter(incoming.record, exc, incoming.envelope)
                return
            except Exception as exc:
                transient = is_transient(exc)
                if not transient and (not is_perhaps_transient(exc) or attempt == self._retry_attempts):
                    # A defect or an unforeseen input: keep the partition moving.
                    await self._park(incoming.record, incoming.envelope, exc)
                    return
                self._metrics.failed.labels(kind="transient").inc()
                log.warning("transient failure handling event", error=type(exc).__name__, attempt=attempt)
                if attempt == self._retry_attempts:
                    raise  # not acknowledged: the broker hands it to us again
                await asyncio.sleep(backoff.next())
                continue
            self._count([incoming], applied, seconds=time.perf_counter() - started)
            return

    def _count(self, batch: Sequence[_Incoming], applied: set[uuid.UUID], *, seconds: float) -> None:
        counted = set()
        for incoming in batch:
            kind, event_id = incoming.envelope.type, incoming.envelope.id
            if event_id in applied and event_id not in counted:
                self._metrics.handler_seconds.labels(type=kind).observe(seconds)
                self._metrics.consumed.labels(type=kind).inc()
                counted.add(event_id)
            else:
                self._metrics.duplicates.labels(type=kind).inc()
        log.info("events handled", handled=len(applied), duplicates=len(batch) - len(applied))

    async def _park(self, record, envelope: Envelope, exc: Exception) -> None:  # noqa: ANN001
        self._metrics.failed.labels(kind="handler_error").inc()
        # The stack without the exception's message: messages may quote identifiable input.
        where = "".join(traceback.format_tb(exc.__traceback__)[-3:])
        log.error("handler failed; dead-lettering the event", error=type(exc).__name__, where=where)
        await self._dead_letter(record, Rejected("handler_error", type(exc).__name__), envelope)

    async def _apply(self, batch: Sequence[_Incoming]) -> set[uuid.UUID]:
        """Apply the events not yet in the inbox, all in one transaction; returns the ids applied."""
        async with self._pool.acquire() as conn, conn.transaction():
            ids = [incoming.envelope.id for incoming in batch]
            new = {row["event_id"] for row in await conn.fetch(_RECORD_PROCESSED, self.service, ids)}
            applied = set()
            for incoming in batch:
                envelope = incoming.envelope
                if envelope.id in new and envelope.id not in applied:  # the same event twice in a batch: once
                    _bind(envelope)  # what a handler logs names its event, in a batch too (the caller clears)
                    await self._handlers[envelope.type](Delivery(envelope, incoming.payload, conn))
                    applied.add(envelope.id)
            return applied

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


def _bind(envelope: Envelope) -> None:
    """Name the event (never its content) on every log line until cleared."""
    bind_event_context(event_id=str(envelope.id), event_type=envelope.type,
                       correlation_id=str(envelope.correlation_id), pathway_id=str(envelope.subject))


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
