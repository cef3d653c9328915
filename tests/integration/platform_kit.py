"""A minimal consumer-and-relay setup over the shared platform, for tests of the platform itself.

It consumes `enquiry.received`, records one row per application in an ``effects`` table (no unique constraint, so a
second application would show) and emits `enquiry.closed` through the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from clinicflow.shared.catalogue import EnquiryClosed, EnquiryReceived, spec_for
from clinicflow.shared.consumer import Delivery, EventConsumer
from clinicflow.shared.envelope import Envelope, new_envelope
from clinicflow.shared.kafka import KafkaPublisher, create_broker, ensure_topics
from clinicflow.shared.metrics import Metrics
from clinicflow.shared.settings import KafkaSettings

SERVICE = "platformtest"
CREATE_EFFECTS = "CREATE TABLE IF NOT EXISTS effects (event_id uuid NOT NULL, pathway_id uuid NOT NULL)"
TOPICS = [t for e in ("enquiry.received", "enquiry.closed") for t in (spec_for(e).topic, spec_for(e).dead_letter_topic)]


def enquiry_received(pathway_id: uuid.UUID | None = None) -> Envelope:
    """A valid `enquiry.received` event."""
    return new_envelope(
        type="enquiry.received",
        source="clinicflow/intake",
        subject=pathway_id or uuid.uuid4(),
        time=datetime.now(UTC),
        data=EnquiryReceived(
            channel="web_form",
            concerns=["depression"],
            age_band="35-44",
            preferred_contact_window="any",
            consent_version="2026-01",
            received_at=datetime.now(UTC),
        ),
    )


async def record_effect_and_close(delivery: Delivery) -> None:
    """The test handler: one effect row and one follow-up event, in the consumer's transaction."""
    await delivery.connection.execute(
        "INSERT INTO effects (event_id, pathway_id) VALUES ($1, $2)", delivery.envelope.id, delivery.envelope.subject
    )
    closed = new_envelope(
        type="enquiry.closed",
        source="clinicflow/intake",
        subject=delivery.envelope.subject,
        time=datetime.now(UTC),
        data=EnquiryClosed(reason="duplicate"),
        cause=delivery.envelope,
    )
    await delivery.outbox.add(closed)


@dataclass
class RunningConsumer:
    """A started broker with the test consumer subscribed."""

    metrics: Metrics
    broker: object


@asynccontextmanager
async def running_consumer(
    pool: asyncpg.Pool,
    kafka: KafkaSettings,
    handler: Callable[[Delivery], Awaitable[None]] = record_effect_and_close,
    *,
    retry_attempts: int = 3,
) -> AsyncIterator[RunningConsumer]:
    """Topics created, consumer subscribed and started; stopped on exit."""
    await pool.execute(CREATE_EFFECTS)
    await ensure_topics(kafka, TOPICS)
    metrics = Metrics()
    broker = create_broker(kafka, client_id=SERVICE)
    dead_letters = KafkaPublisher(kafka, client_id=f"{SERVICE}-dead-letters")
    EventConsumer(
        service=SERVICE,
        pool=pool,
        dead_letters=dead_letters,
        metrics=metrics,
        handlers={"enquiry.received": handler},
        retry_attempts=retry_attempts,
        topic_prefix=kafka.topic_prefix,
    ).subscribe(broker)
    await broker.start()
    try:
        yield RunningConsumer(metrics=metrics, broker=broker)
    finally:
        await broker.stop()
        await dead_letters.close()


async def count_effects(pool: asyncpg.Pool, event_id: uuid.UUID) -> int:
    """How many times the test handler applied an event."""
    await pool.execute(CREATE_EFFECTS)
    return await pool.fetchval("SELECT count(*) FROM effects WHERE event_id = $1", event_id)


@asynccontextmanager
async def kafka_publisher(kafka: KafkaSettings, *, timeout_seconds: float = 5, **producer_options: object
                          ) -> AsyncIterator[KafkaPublisher]:
    """A publisher for relays under test (short timeout by default); the topics exist."""
    await ensure_topics(kafka, TOPICS)
    publisher = KafkaPublisher(kafka, client_id=f"{SERVICE}-relay", timeout_seconds=timeout_seconds,
                               **producer_options)
    try:
        yield publisher
    finally:
        await publisher.close()
