"""Kafka plumbing: the broker every service consumes through, the publisher every record leaves by, explicit topic
creation, and dead-letter inspection and replay."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.protocol.admin import CreateAclsRequest
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from clinicflow.shared.acls import Acl
from clinicflow.shared.catalogue import CATALOGUE
from clinicflow.shared.settings import KafkaSettings


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    return ssl.create_default_context(cafile=settings.ssl_cafile)


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    """FastStream's security object for the configured protocol (None for plain local runs)."""
    context = _ssl_context(settings)
    if not settings.security_protocol.startswith("SASL"):
        return BaseSecurity(ssl_context=context, use_ssl=True) if context else None
    kinds = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
    return kinds[settings.sasl_mechanism](
        username=settings.sasl_username or "", password=password, ssl_context=context, use_ssl=context is not None
    )


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Connection options for plain aiokafka clients (admin, operator tools)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "security_protocol": settings.security_protocol,
        "ssl_context": _ssl_context(settings),
    }
    if settings.security_protocol.startswith("SASL"):
        options |= {
            "sasl_mechanism": settings.sasl_mechanism,
            "sasl_plain_username": settings.sasl_username,
            "sasl_plain_password": settings.sasl_password.get_secret_value() if settings.sasl_password else None,
        }
    return options


def create_broker(settings: KafkaSettings, *, client_id: str) -> KafkaBroker:
    """The service's broker, for consuming (records leave through a :class:`KafkaPublisher`); topics never
    auto-created."""
    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=client_id,
        enable_idempotence=True,
        allow_auto_create_topics=False,
        security=broker_security(settings),
        logger=None,
    )


@dataclass(frozen=True)
class OutgoingMessage:
    """One record for Kafka."""

    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str]


class PublishFailed(Exception):
    """Kafka did not acknowledge every record; none of them counts as sent."""


class Publisher(Protocol):
    """Sends records in the given order and returns once the broker acknowledged all of them."""

    async def send_in_order(self, messages: Sequence[OutgoingMessage]) -> None: ...


class KafkaPublisher:
    """An idempotent producer (acks=all) of its own, replaced after any failed send.

    Why replaced: when aiokafka gives up on a batch after numbering it (a broker restart while the batch waited),
    every later batch to that partition is refused as out of sequence, for ever (aio-libs/aiokafka#1017); a new
    producer gets a new producer id and starts its numbering again. Callers send again whatever failed, so a record
    may reach Kafka twice; consumers deduplicate by event id.
    """

    def __init__(self, settings: KafkaSettings, *, client_id: str, timeout_seconds: float = 30.0,
                 **producer_options: Any) -> None:
        self._options = {"client_id": client_id, "enable_idempotence": True, **client_options(settings),
                         **producer_options}
        self._timeout = timeout_seconds
        self._producer: AIOKafkaProducer | None = None

    async def send_in_order(self, messages: Sequence[OutgoingMessage]) -> None:
        """Enqueue every record in order, then wait for every acknowledgement; :class:`PublishFailed` if any fails."""

        async def send_all(producer: AIOKafkaProducer) -> None:
            pending = [
                await producer.send(m.topic, m.value, key=m.key, headers=_encoded(m.headers)) for m in messages
            ]
            await asyncio.gather(*pending)

        try:
            if self._producer is None:
                self._producer = AIOKafkaProducer(**self._options)
                await self._producer.start()
            await asyncio.wait_for(send_all(self._producer), self._timeout)
        except Exception as exc:  # aiokafka raises several kinds; to callers they all mean "not sent"
            await self.close()
            raise PublishFailed(type(exc).__name__) from exc

    async def close(self) -> None:
        """Stop the producer (bounded: records not yet acknowledged are abandoned; their senders try again)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), 5)


async def ensure_topics(settings: KafkaSettings, topics: Iterable[str]) -> list[str]:
    """Create the topics (named without the configured prefix) that do not exist yet; returns the ones created."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in dict.fromkeys(topics) if settings.topic_prefix + t not in existing]
        if wanted:
            new = [NewTopic(settings.topic_prefix + t, settings.topic_partitions, settings.topic_replication_factor,
                            topic_configs=topic_config(settings, t)) for t in wanted]
            with contextlib.suppress(TopicAlreadyExistsError):  # another instance created them first
                await admin.create_topics(new)
        return [settings.topic_prefix + t for t in wanted]
    finally:
        await admin.close()


def _encoded(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    return [(k, v.encode()) for k, v in headers.items()]


def topic_config(settings: KafkaSettings, topic: str) -> dict[str, str]:
    """Per-topic settings: durability on a real cluster, short retention where personal data travels."""
    config = {}
    if settings.topic_min_insync_replicas:
        config["min.insync.replicas"] = str(settings.topic_min_insync_replicas)
    identifiable = {t for spec in CATALOGUE.values() if spec.identifiable for t in (spec.topic, spec.dead_letter_topic)}
    if topic in identifiable:
        config["retention.ms"] = str(int(settings.identifiable_topic_retention_hours * 3600 * 1000))
    return config


@dataclass(frozen=True)
class DeadLetter:
    """One parked message: where it sits in the DLQ, and why it is there (never its body)."""

    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, str]
    value: bytes


async def read_dead_letters(settings: KafkaSettings, dlq_topic: str) -> list[DeadLetter]:
    """Every message currently in a dead-letter topic, read without a consumer group (nothing is committed)."""
    consumer = AIOKafkaConsumer(
        dlq_topic, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest", **client_options(settings)
    )
    await consumer.start()
    try:
        partitions = await _assigned(consumer)
        ends = await consumer.end_offsets(partitions)
        letters = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                letters.extend(
                    DeadLetter(r.partition, r.offset, r.key, {k: v.decode() for k, v in r.headers}, r.value)
                    for r in records
                )
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        await consumer.stop()


async def _assigned(consumer: AIOKafkaConsumer, timeout: float = 10.0) -> list[TopicPartition]:
    """The partitions a group-less consumer was given (all of its topic's), once metadata has arrived."""
    for _ in range(int(timeout / 0.1)):
        if consumer.assignment():
            return sorted(consumer.assignment())
        await asyncio.sleep(0.1)
    return []


REPLAYED_FROM = "dlq_replayed_from"


async def replay_dead_letter(settings: KafkaSettings, dlq_topic: str, *, partition: int, offset: int) -> str:
    """Publish one parked message back to the topic it came from (after a fix); returns that topic."""
    letter = next(
        (d for d in await read_dead_letters(settings, dlq_topic) if (d.partition, d.offset) == (partition, offset)),
        None,
    )
    if letter is None:
        raise LookupError(f"no dead letter at {dlq_topic}[{partition}]@{offset}")
    source = letter.headers.get("dlq_source_topic") or dlq_topic.removesuffix(".dlq")
    producer = AIOKafkaProducer(enable_idempotence=True, **client_options(settings))
    await producer.start()
    try:
        headers = [(REPLAYED_FROM, f"{dlq_topic}[{partition}]@{offset}".encode())]
        await producer.send_and_wait(source, letter.value, key=letter.key, headers=headers)
    finally:
        await producer.stop()
    return source


class AclRefused(RuntimeError):
    """The broker refused to create an access rule (the caller may not alter the cluster's ACLs)."""


# Kafka's wire codes (org.apache.kafka.common.acl and .resource): LITERAL pattern, ALLOW permission.
_RESOURCE_TYPES = {"TOPIC": 2, "GROUP": 3}
_OPERATIONS = {"READ": 3, "WRITE": 4}
_LITERAL, _ALLOW = 3, 3


async def create_acls(settings: KafkaSettings, acls: Sequence[Acl]) -> None:
    """Create each ALLOW rule (creating one that exists is a no-op), as the principal ``settings`` log in as."""
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        for acl in acls:
            # aiokafka speaks CreateAcls but has no public method for it; the version is pinned (requirements.lock).
            response = await admin._send_request(CreateAclsRequest(  # noqa: SLF001
                _RESOURCE_TYPES[acl.resource_type], acl.resource_name, _LITERAL, acl.principal, "*",
                _OPERATIONS[acl.operation], _ALLOW))
            for error_code, message in response.creation_responses:
                if error_code:
                    raise AclRefused(f"{acl}: Kafka error {error_code} {message or ''}".strip())
    finally:
        await admin.close()
