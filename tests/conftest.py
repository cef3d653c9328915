"""Session fixtures: a real Kafka broker and a real PostgreSQL for the whole suite.

Where they come from, in order: ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` pointing at running services; else
testcontainers when asked for (``CLINICFLOW_TEST_INFRA=containers``); else local processes (Kafka's jars from Maven
Central, Debian's PostgreSQL). A Docker engine that merely answers is not enough: with no registry to pull from (an
air-gapped clinic network, these machines) testcontainers would fail every test, and local processes are what the
fault tests can pause. Integration tests are never skipped for want of them.
Each test gets its own topic prefix, consumer groups and database schema, so nothing needs cleaning up.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Protocol

import asyncpg
import pytest

from clinicflow.shared.database import create_pool, migrate, platform_migrations
from clinicflow.shared.settings import AuthSettings, DatabaseSettings, KafkaSettings

TEST_JWT_SECRET = "test-only-secret-not-for-any-real-deployment"
TEST_ACK_LINK_SECRET = "test-only-acknowledgement-link-key-0123456789"


class Pausable(Protocol):
    """A piece of infrastructure a fault test can stop and start again."""

    def pause(self) -> None: ...
    def resume(self) -> None: ...


class KafkaLogins(Protocol):
    """A broker where each service logs in as its own principal, under the catalogue's ACLs."""

    def login_env(self, producer_or_consumer: str) -> dict[str, str]: ...
    def grant_catalogue_acls(self, topic_prefix: str = "") -> int: ...


@dataclass
class Infrastructure:
    """Where the suite's broker and database are, and (when the suite started them) how to stop them, and how
    services log in to the broker as themselves (on the local broker only; elsewhere they share one identity)."""

    bootstrap_servers: str
    dsn: str
    kafka: Pausable | None = None
    postgres: Pausable | None = None
    kafka_logins: KafkaLogins | None = None


def infrastructure_source(env: dict[str, str]) -> str:
    """Where the suite's broker and database come from: ``running``, ``containers`` or ``local``."""
    if env.get("KAFKA_BOOTSTRAP_SERVERS") and env.get("DATABASE_URL"):
        return "running"
    requested = env.get("CLINICFLOW_TEST_INFRA", "local")
    if requested not in ("containers", "local"):
        raise ValueError(f"CLINICFLOW_TEST_INFRA={requested!r}: use 'containers' or 'local'")
    return requested


@pytest.fixture(scope="session")
def infrastructure() -> Iterator[Infrastructure]:
    """The broker and database for the whole session."""
    source = infrastructure_source(dict(os.environ))
    if source == "running":
        yield Infrastructure(os.environ["KAFKA_BOOTSTRAP_SERVERS"], os.environ["DATABASE_URL"])
    elif source == "containers":
        yield from _containers()
    else:
        from clinicflow.localinfra import local_infrastructure

        with local_infrastructure(durable=False) as infra:
            yield Infrastructure(infra.kafka.bootstrap_servers, infra.postgres.dsn, infra.kafka, infra.postgres,
                                 kafka_logins=infra.kafka)


def _containers() -> Iterator[Infrastructure]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.community.postgres import PostgresContainer

    # Same PostgreSQL major as Debian's on the CI machines; Confluent's image is what KafkaContainer drives.
    kafka_container = KafkaContainer("confluentinc/cp-kafka:8.1.0").with_kraft()
    with PostgresContainer("postgres:15") as postgres, kafka_container as kafka:
        yield Infrastructure(kafka.get_bootstrap_server(), postgres.get_connection_url(driver=None))


@pytest.fixture
def namespace() -> str:
    """A name unique to this test, for its schema, topic prefix and consumer groups."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def kafka_settings(infrastructure: Infrastructure, namespace: str) -> KafkaSettings:
    """Kafka settings whose topics and groups belong to this test alone."""
    return KafkaSettings(
        bootstrap_servers=infrastructure.bootstrap_servers, topic_prefix=f"{namespace}.", topic_partitions=3
    )


@pytest.fixture
def database_settings(infrastructure: Infrastructure) -> DatabaseSettings:
    """The suite's database."""
    return DatabaseSettings(url=infrastructure.dsn)


@pytest.fixture
def auth_settings() -> AuthSettings:
    """HS256 verification with the suite's key."""
    return AuthSettings(jwt_secret=TEST_JWT_SECRET)


@pytest.fixture
async def pool(infrastructure: Infrastructure, namespace: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh schema with the platform's tables (outbox, inbox)."""
    await migrate(infrastructure.dsn, schema=namespace, migrations=platform_migrations())
    pool = await create_pool(infrastructure.dsn, schema=namespace)
    yield pool
    await pool.close()
