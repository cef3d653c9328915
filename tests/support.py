"""Helpers the tests share: reading and writing real Kafka topics, and waiting for a condition."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypeVar

import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from pydantic import BaseModel

from clinicflow.shared.catalogue import spec_for
from clinicflow.shared.envelope import Envelope, new_envelope
from clinicflow.shared.settings import KafkaSettings

T = TypeVar("T")


async def read_topic(
    settings: KafkaSettings, topic: str, *, at_least: int, timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Every record on ``topic`` (prefixed per test) from the beginning, once at least ``at_least`` have come."""
    consumer = AIOKafkaConsumer(
        settings.topic_prefix + topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < at_least and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for partition_records in batch.values():
                records.extend(partition_records)
        # A short grace period reveals any record beyond the ones expected (duplicates).
        for partition_records in (await consumer.getmany(timeout_ms=1000)).values():
            records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


async def write_topic(
    settings: KafkaSettings, topic: str, values: list[bytes], *, key: bytes | None = None
) -> None:
    """Produce raw values to ``topic`` (prefixed per test), in order, with one key."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, enable_idempotence=True)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(settings.topic_prefix + topic, value, key=key)
    finally:
        await producer.stop()


async def eventually(
    check: Callable[[], Awaitable[T] | T], *, timeout: float = 30.0, interval: float = 0.2
) -> T:
    """Poll ``check`` (sync or async) until it returns something truthy; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")
        await asyncio.sleep(interval)


@asynccontextmanager
async def serving(app, port: int) -> AsyncIterator[str]:  # noqa: ANN001 - an ASGI app
    """Serve ``app`` over real HTTP on 127.0.0.1:``port`` (lifespan included); yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or task.done(), timeout=60)
        if task.done():
            task.result()  # surfaces the start-up error
            raise RuntimeError("server stopped while starting")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def publish_event(
    settings: KafkaSettings, event_type: str, pathway_id: uuid.UUID, payload: BaseModel, *, source: str | None = None,
    time: datetime | None = None,
) -> Envelope:
    """Publish one well-formed event as its producing service would (its source, keyed by the pathway id), stamped
    ``time``."""
    source = source or spec_for(event_type).source or "webform/test"
    envelope = new_envelope(type=event_type, source=source, subject=pathway_id, data=payload,
                            time=time or datetime.now(UTC))
    await write_topic(settings, spec_for(event_type).topic, [envelope.to_bytes()], key=str(pathway_id).encode())
    return envelope


async def events_on(settings: KafkaSettings, event_type: str, *, at_least: int = 1, timeout: float = 30.0
                    ) -> list[Envelope]:
    """The envelopes on an event type's topic (prefixed per test)."""
    records = await read_topic(settings, spec_for(event_type).topic, at_least=at_least, timeout=timeout)
    return [Envelope.from_bytes(r.value) for r in records]
