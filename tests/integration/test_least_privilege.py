"""Least privilege on the real PostgreSQL and Kafka. In the database each service logs in as its own role, which
reads and writes its own schema's tables and nothing else; only the owner migrates; the audit trail can only grow.
On the broker each service logs in as its own principal, which writes only its own events and reads only what it
consumes, in its own group."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaError, TopicAuthorizationFailedError

from clinicflow.intake.app import migrations as intake_migrations
from clinicflow.localinfra.databases import provision
from clinicflow.shared.catalogue import CATALOGUE, all_topics, consumer_group
from clinicflow.shared.database import NotMigrated, check_migrated, platform_migrations
from clinicflow.shared.kafka import client_options, ensure_topics
from clinicflow.shared.settings import KafkaSettings

pytestmark = pytest.mark.integration


async def test_a_service_login_reads_and_writes_its_own_schema_and_nothing_else(infrastructure, namespace):
    schemas = {"intake": f"{namespace}_intake", "sessions": f"{namespace}_sessions"}
    logins = await provision(infrastructure.dsn, schemas)
    intake, sessions = schemas["intake"], schemas["sessions"]
    conn = await asyncpg.connect(logins["intake"])
    try:
        assert await conn.fetchval("SELECT current_user") == f"clinicflow_{intake}"
        await conn.execute(f'INSERT INTO "{intake}".audit_log (staff_id, action, enquiry_id, purpose) '
                           "VALUES ('cc-1', 'read', $1, 'care')", uuid.uuid4())
        assert await conn.fetchval(f'SELECT count(*) FROM "{intake}".audit_log') == 1
        assert await conn.fetchval(f'SELECT count(*) FROM "{intake}".outbox') == 0
        refused = [
            f'SELECT * FROM "{sessions}".courses',  # another service's clinical data
            f'SELECT * FROM "{sessions}".outbox',
            f'UPDATE "{intake}".audit_log SET purpose = \'none\'',  # the audit trail only grows
            f'DELETE FROM "{intake}".audit_log',
            f'ALTER TABLE "{intake}".audit_log DISABLE TRIGGER audit_log_append_only',  # nor can its guard go
            f'DROP TRIGGER audit_log_append_only ON "{intake}".audit_log',
            f'CREATE TABLE "{intake}".smuggled (x int)',  # no DDL at run time
            f'DROP TABLE "{intake}".enquiries',
            f'INSERT INTO "{intake}".schema_migrations (source, version, name) VALUES (\'x\', 1, \'x\')',
            "CREATE TABLE public.smuggled (x int)",
            f'CREATE SCHEMA "{namespace}_mine"',
        ]
        for statement in refused:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()


async def test_a_service_that_may_not_migrate_refuses_to_start_on_a_schema_not_yet_migrated(
    infrastructure, namespace
):
    migrations = [*platform_migrations(), *intake_migrations()]
    with pytest.raises(NotMigrated, match="run the service's `migrate` command first"):
        await check_migrated(infrastructure.dsn, schema=f"{namespace}_intake", migrations=migrations)
    logins = await provision(infrastructure.dsn, {"intake": f"{namespace}_intake"})
    await check_migrated(logins["intake"], schema=f"{namespace}_intake", migrations=migrations)


# --- the broker: each service its own principal, allowed only what the catalogue's ACLs grant ---------------------

def _login(infrastructure, service: str, prefix: str, *, password: str | None = None) -> KafkaSettings:  # noqa: ANN001
    env = infrastructure.kafka_logins.login_env(service)
    return KafkaSettings(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"], security_protocol="SASL_PLAINTEXT",
                         sasl_mechanism="SCRAM-SHA-512", sasl_username=env["KAFKA_SASL_USERNAME"],
                         sasl_password=password or env["KAFKA_SASL_PASSWORD"], topic_prefix=prefix)


@pytest.fixture
async def granted(infrastructure, kafka_settings) -> str:  # noqa: ANN001
    """This test's topics, created by the operator, and the catalogue's ACLs on them; returns the topic prefix."""
    if infrastructure.kafka_logins is None:
        pytest.skip("the broker the suite was given has no per-service logins (the local broker has)")
    await ensure_topics(kafka_settings, all_topics())
    infrastructure.kafka_logins.grant_catalogue_acls(kafka_settings.topic_prefix)
    return kafka_settings.topic_prefix


async def _produce(settings: KafkaSettings, event_type: str) -> None:
    producer = AIOKafkaProducer(**client_options(settings), enable_idempotence=True, request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic_prefix + CATALOGUE[event_type].topic, b"{}", key=b"k")
    finally:
        await producer.stop()


async def _consume(settings: KafkaSettings, event_type: str, *, group_of: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(settings.topic_prefix + CATALOGUE[event_type].topic, **client_options(settings),
                                group_id=consumer_group(group_of, settings.topic_prefix),
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=8000)
        return [record.value for records in batches.values() for record in records]
    finally:
        await consumer.stop()


async def test_a_service_principal_writes_only_its_own_events_and_reads_only_what_it_consumes(
    infrastructure, granted, kafka_settings
):
    sessions = _login(infrastructure, "sessions", granted)
    await _produce(sessions, "session.logged")  # its own event
    await _produce(kafka_settings, "screening.completed")  # the operator (or screening) puts one on the bus
    assert await _consume(sessions, "screening.completed", group_of="sessions") == [b"{}"]  # what it consumes

    # A compromised sessions cannot forge screening's outcome nor acknowledge an alert as notifications would...
    for forged in ("screening.completed", "alert.acknowledged", "webform.enquiry.submitted"):
        with pytest.raises(TopicAuthorizationFailedError):
            await _produce(sessions, forged)
    # ...nor read the identifiable web form (intake alone does), nor join another service's group.
    with pytest.raises(TopicAuthorizationFailedError):
        await _consume(sessions, "webform.enquiry.submitted", group_of="sessions")
    with pytest.raises(GroupAuthorizationFailedError):
        await _consume(sessions, "screening.completed", group_of="register")
    # The web form may only submit; and a wrong password is no login at all.
    await _produce(_login(infrastructure, "webform", granted), "webform.enquiry.submitted")
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(_login(infrastructure, "webform", granted), "enquiry.received")
    with pytest.raises(KafkaError):
        await _produce(_login(infrastructure, "sessions", granted, password="not-its-password"), "session.logged")
