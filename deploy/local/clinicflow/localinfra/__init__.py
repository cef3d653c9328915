"""Local infrastructure for runs and tests on a machine without Docker: a real Kafka broker and a real PostgreSQL.

Used by ``make run`` (``python -m clinicflow.localinfra``) and by the test suite's session fixtures.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from clinicflow.localinfra.kafka import LocalKafka
from clinicflow.localinfra.postgres import LocalPostgres


@dataclass
class Infrastructure:
    """The running broker and database."""

    kafka: LocalKafka
    postgres: LocalPostgres


@contextmanager
def local_infrastructure(
    *, kafka_port: int | None = None, postgres_port: int | None = None, durable: bool = True
) -> Iterator[Infrastructure]:
    """Start Kafka and PostgreSQL, yield them, and stop both however the block ends (also at interpreter exit)."""
    postgres = LocalPostgres(port=postgres_port, durable=durable)
    kafka = LocalKafka(port=kafka_port, durable=durable)
    atexit.register(postgres.stop)
    atexit.register(kafka.stop)
    try:
        seconds = postgres.start()
        print(f"PostgreSQL ready in {seconds:.1f}s: {postgres.dsn}", flush=True)
        seconds = kafka.start()
        print(f"Kafka ready in {seconds:.1f}s: {kafka.bootstrap_servers}", flush=True)
        yield Infrastructure(kafka=kafka, postgres=postgres)
    finally:
        kafka.stop()
        postgres.stop()
