"""The shared event platform against the real Kafka broker and the real PostgreSQL: outbox, inbox, dead letters,
migrations and the relay's behaviour through a broker outage."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import defaultdict
from datetime import timedelta

import asyncpg
import pytest

from clinicflow.shared.consumer import DLQ_REASON, DLQ_SOURCE_OFFSET, DLQ_SOURCE_TOPIC, Delivery, Rejected
from clinicflow.shared.database import Migration, migrate, platform_migrations
from clinicflow.shared.envelope import Envelope
from clinicflow.shared.kafka import PublishFailed, read_dead_letters, replay_dead_letter
from clinicflow.shared.metrics import Metrics
from clinicflow.shared.outbox import EVENT_ID_HEADER, Outbox, OutboxRelay
from tests.integration.platform_kit import (
    count_effects,
    enquiry_received,
    kafka_publisher,
    record_effect_and_close,
    running_consumer,
)
from tests.support import eventually, read_topic, write_topic

pytestmark = pytest.mark.integration


async def add_to_outbox(pool: asyncpg.Pool, *envelopes: Envelope) -> None:
    async with pool.acquire() as conn, conn.transaction():
        for envelope in envelopes:
            await Outbox(conn).add(envelope)


def relay_for(pool, kafka_settings, infrastructure, namespace, publisher) -> OutboxRelay:  # noqa: ANN001
    return OutboxRelay(
        dsn=infrastructure.dsn,
        pool=pool,
        schema=namespace,
        publisher=publisher,
        metrics=Metrics(),
        poll_seconds=0.5,
        topic_prefix=kafka_settings.topic_prefix,
    )


async def test_outbox_event_reaches_kafka_with_its_envelope_key_and_id_header(
    pool, kafka_settings, infrastructure, namespace
):
    event = enquiry_received()
    await add_to_outbox(pool, event)
    async with kafka_publisher(kafka_settings) as publisher:
        sent = await relay_for(pool, kafka_settings, infrastructure, namespace, publisher).publish_pending()

    records = await read_topic(kafka_settings, "enquiry.received.v1", at_least=1)
    assert sent == 1
    assert len(records) == 1
    assert records[0].value == event.to_bytes()  # serialised once, when written, and sent as stored
    assert Envelope.from_bytes(records[0].value) == event
    assert records[0].key == str(event.subject).encode()
    assert dict(records[0].headers)[EVENT_ID_HEADER] == str(event.id).encode()
    assert await pool.fetchval("SELECT published_at IS NOT NULL FROM outbox WHERE event_id = $1", event.id)


async def test_an_event_delivered_twice_is_applied_once(pool, kafka_settings):
    event = enquiry_received()
    async with running_consumer(pool, kafka_settings) as running:
        await write_topic(kafka_settings, "enquiry.received.v1", [event.to_bytes(), event.to_bytes()],
                          key=str(event.subject).encode())
        await eventually(lambda: running.metrics.duplicates.labels(type="enquiry.received")._value.get())

    assert await count_effects(pool, event.id) == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'enquiry.closed'") == 1


async def test_a_consumer_killed_between_database_commit_and_offset_commit_applies_nothing_twice(
    pool, kafka_settings, infrastructure, namespace
):
    event = enquiry_received()
    async with running_consumer(pool, kafka_settings):
        pass  # creates the topics and the effects table
    await write_topic(kafka_settings, "enquiry.received.v1", [event.to_bytes()], key=str(event.subject).encode())

    crashed = subprocess.run(
        [sys.executable, "-m", "tests.integration.crashing_consumer",
         infrastructure.bootstrap_servers, kafka_settings.topic_prefix, infrastructure.dsn, namespace],
        timeout=120, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert crashed.returncode == 9  # it died right after its database commit
    assert await count_effects(pool, event.id) == 1

    async with running_consumer(pool, kafka_settings) as running:
        # The offset was never committed, so the event comes again, and the inbox recognises it.
        await eventually(lambda: running.metrics.duplicates.labels(type="enquiry.received")._value.get())
    assert await count_effects(pool, event.id) == 1


async def test_events_waiting_together_are_applied_in_one_transaction(pool, kafka_settings):
    """The speed of a busy service: what the broker hands over at once commits at once (inbox rows and effects)."""
    pathway = uuid.uuid4()
    events = [enquiry_received(pathway) for _ in range(10)]
    transactions = []

    async def record_transaction(delivery: Delivery) -> None:
        transactions.append(await delivery.connection.fetchval("SELECT txid_current()"))
        await record_effect_and_close(delivery)

    async with running_consumer(pool, kafka_settings):
        pass  # creates the topics and the effects table
    await write_topic(kafka_settings, "enquiry.received.v1", [e.to_bytes() for e in events], key=str(pathway).encode())
    async with running_consumer(pool, kafka_settings, record_transaction) as running:
        await eventually(lambda: running.metrics.consumed.labels(type="enquiry.received")._value.get() == 10)

    assert [await count_effects(pool, e.id) for e in events] == [1] * 10
    assert len(set(transactions)) <= 2  # one fetch, one transaction (two if the broker split the fetch)


async def test_one_refused_event_in_a_batch_goes_alone_to_the_dead_letter_topic_and_the_rest_apply_once(
    pool, kafka_settings
):
    pathway = uuid.uuid4()
    events = [enquiry_received(pathway) for _ in range(5)]
    refused = events[2].id

    async def refuse_one(delivery: Delivery) -> None:
        await record_effect_and_close(delivery)  # its writes are rolled back with the batch
        if delivery.envelope.id == refused:
            raise Rejected("contradicts_state", "the test refuses this one")

    async with running_consumer(pool, kafka_settings):
        pass
    await write_topic(kafka_settings, "enquiry.received.v1", [e.to_bytes() for e in events], key=str(pathway).encode())
    async with running_consumer(pool, kafka_settings, refuse_one) as running:
        await eventually(lambda: running.metrics.consumed.labels(type="enquiry.received")._value.get() == 4)
        dlq = f"{kafka_settings.topic_prefix}enquiry.received.v1.dlq"
        [letter] = await eventually(lambda: read_dead_letters(kafka_settings, dlq))

    assert [await count_effects(pool, e.id) for e in events] == [1, 1, 0, 1, 1]
    assert letter.headers[DLQ_REASON] == "contradicts_state"
    assert letter.headers[DLQ_SOURCE_OFFSET] == "2"
    closed = await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'enquiry.closed'")
    assert closed == 4  # the events the rolled-back batch caused were written once, not twice


async def test_a_malformed_message_goes_to_the_dead_letter_topic_and_the_next_one_is_processed(
    pool, kafka_settings
):
    pathway = uuid.uuid4()
    good = enquiry_received(pathway)
    wrong_payload = json.loads(enquiry_received(pathway).to_bytes())
    wrong_payload["data"]["age_band"] = "17"
    async with running_consumer(pool, kafka_settings):
        await write_topic(
            kafka_settings,
            "enquiry.received.v1",
            [b"not json at all", json.dumps(wrong_payload).encode(), good.to_bytes()],
            key=str(pathway).encode(),  # one key: one partition, so the good one waits behind the bad ones
        )
        await eventually(lambda: count_effects(pool, good.id))

    letters = await read_dead_letters(kafka_settings, f"{kafka_settings.topic_prefix}enquiry.received.v1.dlq")
    assert [letter.headers[DLQ_REASON] for letter in letters] == ["invalid_envelope", "invalid_payload"]
    assert letters[0].value == b"not json at all"
    assert letters[0].key == str(pathway).encode()
    assert letters[1].headers[DLQ_SOURCE_TOPIC] == f"{kafka_settings.topic_prefix}enquiry.received.v1"
    assert letters[1].headers[DLQ_SOURCE_OFFSET] == "1"
    assert "data.age_band: literal_error" in letters[1].headers["dlq_detail"]
    assert "17" not in letters[1].headers["dlq_detail"]  # the offending value is never echoed


async def test_an_event_from_a_service_that_does_not_produce_it_is_dead_lettered(pool, kafka_settings):
    """Only intake says an enquiry was received: the same event stamped by notifications is refused."""
    pathway = uuid.uuid4()
    forged = json.loads(enquiry_received(pathway).to_bytes())
    forged["source"] = "clinicflow/notifications"
    good = enquiry_received(pathway)
    async with running_consumer(pool, kafka_settings):
        await write_topic(kafka_settings, "enquiry.received.v1", [json.dumps(forged).encode(), good.to_bytes()],
                          key=str(pathway).encode())
        await eventually(lambda: count_effects(pool, good.id))
    assert await count_effects(pool, uuid.UUID(forged["id"])) == 0
    [letter] = await read_dead_letters(kafka_settings, f"{kafka_settings.topic_prefix}enquiry.received.v1.dlq")
    assert letter.headers[DLQ_REASON] == "unexpected_source"
    assert "clinicflow/notifications" in letter.headers["dlq_detail"]


async def test_a_dead_letter_replayed_after_a_fix_is_applied(pool, kafka_settings):
    event = enquiry_received()
    broken = True

    async def handler_with_a_defect_until_fixed(delivery: Delivery) -> None:
        if broken:
            raise ValueError("defect")
        await record_effect_and_close(delivery)

    dlq = f"{kafka_settings.topic_prefix}enquiry.received.v1.dlq"
    async with running_consumer(pool, kafka_settings, handler_with_a_defect_until_fixed):
        await write_topic(kafka_settings, "enquiry.received.v1", [event.to_bytes()], key=str(event.subject).encode())
        letters = await eventually(lambda: read_dead_letters(kafka_settings, dlq))
        assert letters[0].headers[DLQ_REASON] == "handler_error"
        assert await count_effects(pool, event.id) == 0

        broken = False
        await replay_dead_letter(kafka_settings, dlq, partition=letters[0].partition, offset=letters[0].offset)
        await eventually(lambda: count_effects(pool, event.id))


async def _lose_the_connection(conn: asyncpg.Connection) -> None:
    raise asyncpg.ConnectionDoesNotExistError("connection lost")


async def _write_in_a_read_only_transaction(conn: asyncpg.Connection) -> None:
    # What a managed PostgreSQL answers while it fails over: the real error from the real database (25006).
    await conn.execute("SET TRANSACTION READ ONLY")
    await conn.execute("CREATE TEMP TABLE failover_probe (x int)")


async def _break_the_protocol(_conn: asyncpg.Connection) -> None:
    # What asyncpg raised when a database restart broke a connection mid-query (seen in the fault tests).
    raise asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress")


async def _time_out_on_a_lock(conn: asyncpg.Connection) -> None:
    await conn.execute("SET LOCAL lock_timeout = '50ms'")
    await conn.execute("LOCK TABLE effects IN ACCESS EXCLUSIVE MODE")  # held by the test meanwhile: 55P03


@pytest.mark.parametrize("fail", [_lose_the_connection, _write_in_a_read_only_transaction, _time_out_on_a_lock,
                                  _break_the_protocol])
async def test_a_transient_database_failure_is_retried_without_dead_lettering(pool, kafka_settings, fail):
    event = enquiry_received()
    failures_left = 2

    async def flaky_handler(delivery: Delivery) -> None:
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            await fail(delivery.connection)
        await record_effect_and_close(delivery)

    await count_effects(pool, event.id)  # creates the effects table
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("LOCK TABLE effects IN ACCESS SHARE MODE")  # blocks only the lock-timeout variant
        async with running_consumer(pool, kafka_settings, flaky_handler, retry_attempts=3) as running:
            await write_topic(kafka_settings, "enquiry.received.v1", [event.to_bytes()],
                              key=str(event.subject).encode())
            await eventually(lambda: count_effects(pool, event.id))
            assert running.metrics.failed.labels(kind="transient")._value.get() == 2
            assert running.metrics.failed.labels(kind="handler_error")._value.get() == 0

    assert await count_effects(pool, event.id) == 1
    dlq = f"{kafka_settings.topic_prefix}enquiry.received.v1.dlq"
    assert await read_dead_letters(kafka_settings, dlq) == []


async def test_a_defect_in_a_handler_is_parked_at_once_not_retried(pool, kafka_settings):
    event = enquiry_received()

    async def defective_handler(delivery: Delivery) -> None:
        await delivery.connection.execute("SELECT * FROM no_such_table")  # 42P01: retrying cannot fix it

    async with running_consumer(pool, kafka_settings, defective_handler) as running:
        await write_topic(kafka_settings, "enquiry.received.v1", [event.to_bytes()], key=str(event.subject).encode())
        dlq = f"{kafka_settings.topic_prefix}enquiry.received.v1.dlq"
        [letter] = await eventually(lambda: read_dead_letters(kafka_settings, dlq))
        assert running.metrics.failed.labels(kind="transient")._value.get() == 0
    assert letter.headers[DLQ_REASON] == "handler_error"


async def test_an_error_that_may_be_a_defect_is_retried_then_parked_never_redelivered_for_ever(pool, kafka_settings):
    event = enquiry_received()

    async def always_broken(_delivery: Delivery) -> None:
        raise asyncpg.InternalClientError("cannot switch to state 15")

    async with running_consumer(pool, kafka_settings, always_broken, retry_attempts=3) as running:
        await write_topic(kafka_settings, "enquiry.received.v1", [event.to_bytes()], key=str(event.subject).encode())
        dlq = f"{kafka_settings.topic_prefix}enquiry.received.v1.dlq"
        [letter] = await eventually(lambda: read_dead_letters(kafka_settings, dlq))
        assert running.metrics.failed.labels(kind="transient")._value.get() == 2
    assert letter.headers[DLQ_REASON] == "handler_error"


async def test_the_relay_reports_how_long_the_oldest_unsent_event_has_waited(pool, infrastructure, namespace):
    class BrokerDown:
        async def send_in_order(self, _messages):  # noqa: ANN001, ANN202
            raise PublishFailed("KafkaConnectionError")

    await add_to_outbox(pool, enquiry_received())
    await pool.execute("UPDATE outbox SET created_at = now() - interval '90 seconds'")
    metrics = Metrics()
    relay = OutboxRelay(dsn=infrastructure.dsn, pool=pool, schema=namespace, publisher=BrokerDown(), metrics=metrics,
                        poll_seconds=0.2)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: metrics.outbox_oldest_seconds._value.get() >= 90)
        assert metrics.outbox_backlog._value.get() == 1
    finally:
        task.cancel()


async def test_the_relay_holds_events_through_a_broker_outage_and_delivers_them_in_order_per_pathway(
    pool, kafka_settings, infrastructure, namespace
):
    if infrastructure.kafka is None:
        pytest.skip("the broker is external to this run (KAFKA_BOOTSTRAP_SERVERS), so the test cannot stop it")
    pathways = [uuid.uuid4() for _ in range(3)]
    before = [enquiry_received(pathways[i % 3]) for i in range(6)]
    during = [enquiry_received(pathways[i % 3]) for i in range(12)]
    async with kafka_publisher(kafka_settings) as publisher:
        relay = relay_for(pool, kafka_settings, infrastructure, namespace, publisher)
        task = asyncio.create_task(relay.run())
        try:
            await add_to_outbox(pool, *before)
            await eventually(lambda: _unsent(pool, 0))
            await asyncio.to_thread(infrastructure.kafka.pause)
            for event in during:
                await add_to_outbox(pool, event)
            await asyncio.sleep(3)
            assert await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == len(during)
            await asyncio.to_thread(infrastructure.kafka.resume)
            await eventually(lambda: _unsent(pool, 0), timeout=90)
        finally:
            task.cancel()

    records = await read_topic(kafka_settings, "enquiry.received.v1", at_least=len(before) + len(during))
    seen: dict[bytes, list[uuid.UUID]] = defaultdict(list)
    for record in records:
        event_id = Envelope.from_bytes(record.value).id
        if event_id not in seen[record.key]:
            seen[record.key].append(event_id)
    for pathway in pathways:
        expected = [e.id for e in [*before, *during] if e.subject == pathway]
        assert seen[str(pathway).encode()] == expected


async def test_a_producer_whose_numbering_broke_is_replaced_and_the_relay_goes_on(
    pool, kafka_settings, infrastructure, namespace
):
    """The fault seen in a 20-second broker outage: aiokafka numbered a batch, gave it up, and refused every later
    batch to that partition as out of sequence. Here the lost batch is made by skipping one number by hand."""
    pathway = uuid.uuid4()  # one partition: the one whose numbering breaks
    first, second, third = (enquiry_received(pathway) for _ in range(3))
    # Time enough for the broker's refusal on a busy machine: only the refusal, not a timeout, proves the fault.
    async with kafka_publisher(kafka_settings, timeout_seconds=30) as publisher:
        relay = relay_for(pool, kafka_settings, infrastructure, namespace, publisher)
        await add_to_outbox(pool, first)
        assert await relay.publish_pending() == 1
        producer = publisher._producer
        [partition] = list(producer._txn_manager._sequence_numbers)
        producer._txn_manager.increment_sequence_number(partition, 1)  # as aiokafka does for a batch it gives up

        await add_to_outbox(pool, second)
        with pytest.raises(PublishFailed, match="OutOfOrderSequenceNumber"):
            await relay.publish_pending()
        await add_to_outbox(pool, third)
        assert await relay.publish_pending() == 2
    records = await read_topic(kafka_settings, "enquiry.received.v1", at_least=3)
    assert {Envelope.from_bytes(r.value).id for r in records} == {first.id, second.id, third.id}


async def _unsent(pool: asyncpg.Pool, expected: int) -> bool:
    return await pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == expected


async def test_only_one_relay_leads_and_each_event_is_published_once(pool, kafka_settings, infrastructure, namespace):
    events = [enquiry_received() for _ in range(20)]
    async with kafka_publisher(kafka_settings) as publisher:
        relays = [relay_for(pool, kafka_settings, infrastructure, namespace, publisher) for _ in range(2)]
        tasks = [asyncio.create_task(r.run()) for r in relays]
        try:
            for event in events:
                await add_to_outbox(pool, event)
            await eventually(lambda: _unsent(pool, 0))
        finally:
            for task in tasks:
                task.cancel()
    records = await read_topic(kafka_settings, "enquiry.received.v1", at_least=len(events))
    assert sorted(Envelope.from_bytes(r.value).id for r in records) == sorted(e.id for e in events)


async def test_sent_outbox_rows_are_pruned_after_their_retention(pool, kafka_settings, infrastructure, namespace):
    await add_to_outbox(pool, enquiry_received(), enquiry_received())
    await pool.execute("UPDATE outbox SET published_at = now() - interval '2 days' "
                       "WHERE seq = (SELECT min(seq) FROM outbox)")
    relay = OutboxRelay(dsn=infrastructure.dsn, pool=pool, schema=namespace, publisher=None, metrics=Metrics(),
                        retention=timedelta(days=1))
    assert await relay.prune() == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 1


async def test_two_instances_starting_at_once_migrate_once(infrastructure, namespace):
    service_migration = Migration("svc", 1, "0001_things.sql", "CREATE TABLE things (id int PRIMARY KEY)")
    migrations = [*platform_migrations(), service_migration]
    first, second = await asyncio.gather(
        migrate(infrastructure.dsn, schema=namespace, migrations=migrations),
        migrate(infrastructure.dsn, schema=namespace, migrations=migrations),
    )
    everything = [f"{m.source}/{m.name}" for m in migrations]
    assert sorted([first, second], key=len) == [[], everything]
    conn = await asyncpg.connect(infrastructure.dsn)
    try:
        rows = await conn.fetch(f'SELECT source, version FROM "{namespace}".schema_migrations ORDER BY source')
    finally:
        await conn.close()
    assert sorted(tuple(r) for r in rows) == sorted((m.source, m.version) for m in migrations)
