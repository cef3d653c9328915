"""Transactional outbox: events are written with the state change that causes them, then relayed to Kafka.

The writer adds rows inside the caller's transaction and NOTIFYs (delivered only at commit) to wake the relay. The
relay is the only path to the bus: one leader per service (advisory lock), rows sent in creation order keyed by the
pathway id, marked sent only after Kafka acknowledged every one, retried with backoff through any outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from clinicflow.shared.catalogue import Payload, spec_for
from clinicflow.shared.envelope import Envelope, new_envelope
from clinicflow.shared.kafka import OutgoingMessage, Publisher, PublishFailed
from clinicflow.shared.metrics import Metrics
from clinicflow.shared.retry import Backoff

log = structlog.get_logger(__name__)

EVENT_ID_HEADER = "ce_id"
EVENT_TYPE_HEADER = "ce_type"

# One round trip: the row, and a NOTIFY on the relay's channel (delivered at commit; PostgreSQL folds repeats within a
# transaction). The channel is wake_up_channel(schema): the connection's search_path names the service's schema.
_INSERT = """
WITH added AS (
    INSERT INTO outbox (event_id, topic, message_key, event_type, envelope) VALUES ($1, $2, $3, $4, $5) RETURNING 1
)
SELECT pg_notify(current_schema() || '_outbox', '') FROM added"""


def wake_up_channel(schema: str) -> str:
    """The LISTEN/NOTIFY channel of one service's outbox."""
    return f"{schema}_outbox"


class Outbox:
    """Adds events to the outbox inside an open transaction."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add(self, envelope: Envelope) -> None:
        """Store one event, serialised once, to be published as these bytes when the transaction commits."""
        spec = spec_for(envelope.type)
        await self._conn.execute(
            _INSERT, envelope.id, spec.topic, str(envelope.subject), envelope.type, envelope.to_bytes()
        )


@dataclass(frozen=True)
class EventWriter:
    """Builds the envelopes a unit of work causes and adds them to its outbox.

    When the work answers an event (``cause``), the new events inherit its correlation id and name it as cause.
    """

    outbox: Outbox
    source: str
    now: datetime
    cause: Envelope | None = None

    async def emit(self, pathway_id: uuid.UUID, payload: Payload) -> Envelope:
        """Queue one event about a pathway (its type is the payload's); returns it."""
        envelope = new_envelope(
            type=payload.event_type, source=self.source, subject=pathway_id, data=payload, time=self.now,
            cause=self.cause,
        )
        await self.outbox.add(envelope)
        return envelope


_PENDING = """
SELECT seq, event_id, topic, message_key, event_type, envelope
FROM outbox
WHERE published_at IS NULL
ORDER BY seq
LIMIT $1
FOR UPDATE SKIP LOCKED"""
_MARK_SENT = "UPDATE outbox SET published_at = now() WHERE seq = ANY($1::bigint[])"
_BACKLOG = """
SELECT count(*) AS events, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
FROM outbox WHERE published_at IS NULL"""
# Past this an event is late enough for ops to look (deploy/monitoring/alerts.yml pages on the same figure).
STUCK_AFTER_SECONDS = 60.0
_PRUNE_OUTBOX = "DELETE FROM outbox WHERE published_at < now() - $1::interval"
_PRUNE_INBOX = "DELETE FROM processed_messages WHERE processed_at < now() - $1::interval"


class OutboxRelay:
    """Moves outbox rows to Kafka; run one per service instance, only the leader sends."""

    def __init__(
        self,
        *,
        dsn: str,
        pool: asyncpg.Pool,
        schema: str,
        publisher: Publisher,
        metrics: Metrics,
        poll_seconds: float = 2.0,
        retention: timedelta = timedelta(days=7),
        inbox_retention: timedelta = timedelta(days=30),
        batch_size: int = 200,
        topic_prefix: str = "",
    ) -> None:
        self._dsn = dsn
        self._pool = pool
        self._schema = schema
        self._publisher = publisher
        self._metrics = metrics
        self._poll_seconds = poll_seconds
        self._retention = retention
        self._inbox_retention = inbox_retention
        self._batch_size = batch_size
        self._topic_prefix = topic_prefix
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Lead when possible, publish until cancelled; reconnects after database failures."""
        backoff = Backoff()
        while True:
            try:
                await self._lead_when_possible()
            except Exception as exc:  # never die: rows wait safely in the table
                self._metrics.failed.labels(kind="outbox_relay").inc()
                log.warning("outbox relay stopped leading; will retry", error=type(exc).__name__)
                await asyncio.sleep(backoff.next())

    async def _lead_when_possible(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            lock = f"clinicflow.outbox-relay.{self._schema}"
            while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", lock):
                await asyncio.sleep(self._poll_seconds)
            log.info("outbox relay leads", schema=self._schema)
            await conn.add_listener(wake_up_channel(self._schema), self._on_notify)
            await self._publish_until_cancelled(conn)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.close())

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _publish_until_cancelled(self, leader: asyncpg.Connection) -> None:
        backoff = Backoff()
        rounds = 0
        while True:
            if leader.is_closed():
                raise asyncpg.InterfaceError("leader connection closed")
            self._wake.clear()
            try:
                sent = await self.publish_pending()
                backoff.reset()
            except PublishFailed as exc:  # Kafka unreachable or slow: keep every row, try again later
                self._metrics.failed.labels(kind="outbox_publish").inc()
                log.warning("outbox publish failed; will retry", error=type(exc).__name__)
                await self.measure_backlog()
                await asyncio.sleep(backoff.next())
                continue
            rounds += 1
            if rounds % 100 == 1:
                await self.prune()
            if sent < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    async def publish_pending(self) -> int:
        """Send one batch of unsent rows in order and mark them sent; returns how many were sent."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(_PENDING, self._batch_size)
            if rows:
                await self._publisher.send_in_order([_as_message(row, self._topic_prefix) for row in rows])
                await conn.execute(_MARK_SENT, [row["seq"] for row in rows])
        for row in rows:
            self._metrics.published.labels(topic=row["topic"]).inc()
        await self.measure_backlog()
        return len(rows)

    async def measure_backlog(self) -> None:
        """Update the backlog gauges: how many events wait, and how long the oldest has waited."""
        backlog = await self._pool.fetchrow(_BACKLOG)
        self._metrics.outbox_backlog.set(backlog["events"])
        self._metrics.outbox_oldest_seconds.set(backlog["oldest_seconds"])
        if backlog["oldest_seconds"] > STUCK_AFTER_SECONDS:
            log.warning("outbox events are waiting too long", events=backlog["events"],
                        oldest_seconds=round(backlog["oldest_seconds"]))

    async def prune(self) -> int:
        """Delete sent outbox rows and processed-event ids past their retention; returns how many rows."""
        outbox = await self._pool.execute(_PRUNE_OUTBOX, self._retention)
        inbox = await self._pool.execute(_PRUNE_INBOX, self._inbox_retention)
        return int(outbox.split()[-1]) + int(inbox.split()[-1])


def _as_message(row: asyncpg.Record, topic_prefix: str) -> OutgoingMessage:
    return OutgoingMessage(
        topic=topic_prefix + row["topic"],
        key=row["message_key"].encode(),
        value=row["envelope"],
        headers={EVENT_ID_HEADER: str(row["event_id"]), EVENT_TYPE_HEADER: row["event_type"]},
    )
