"""What an operator asks of a running system: each service's outbox backlog and its consumer group's lag."""

from __future__ import annotations

import asyncio
import os

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from clinicflow.shared.catalogue import consumer_group
from clinicflow.shared.kafka import client_options
from clinicflow.shared.settings import KafkaSettings

SERVICES = ("intake", "screening", "sessions", "notifications", "register")
# Each service's schema, as its own settings name it (SERVICE_DB_SCHEMA overrides the default).
SERVICE_SCHEMAS = {s: os.environ.get(f"{s.upper()}_DB_SCHEMA", s) for s in SERVICES}


async def outbox_backlog(dsn: str, schema: str) -> int | None:
    """Events written but not yet on Kafka; None when the schema does not exist (yet)."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(f'SELECT count(*) FROM "{schema}".outbox WHERE published_at IS NULL')
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await conn.close()


async def consumer_lag(settings: KafkaSettings, group_id: str) -> int | None:
    """Messages on the group's partitions not yet committed; None when the group never committed."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_id)
    finally:
        await admin.close()
    if not committed:
        return None
    consumer = AIOKafkaConsumer(group_id=None, **client_options(settings))
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(committed))
    finally:
        await consumer.stop()
    return sum(max(0, ends[tp] - meta.offset) for tp, meta in committed.items())


async def operations_status(
    settings: KafkaSettings, dsn: str, schemas: dict[str, str]
) -> dict[str, tuple[int | None, int | None]]:
    """Outbox backlog and consumer lag for each service."""
    report = {}
    for service, schema in schemas.items():
        backlog, lag = await asyncio.gather(
            outbox_backlog(dsn, schema), consumer_lag(settings, consumer_group(service, settings.topic_prefix))
        )
        report[service] = (backlog, lag)
    return report
