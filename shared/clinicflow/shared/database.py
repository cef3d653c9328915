"""PostgreSQL access: a pool bound to one service's schema, and numbered SQL migrations applied at start.

Migrations come from two places, applied in order: the platform's own (outbox, inbox) and the service's. An advisory
lock makes two instances starting at once migrate exactly once.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import asyncpg

_MIGRATION_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, schema: str, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A connection pool whose connections see ``schema`` first and speak JSON for jsonb."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"clinicflow-{schema}"},
        init=_init_connection,
    )


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One connection inside one transaction: committed when the block ends, rolled back when it raises."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    source: str
    version: int
    name: str
    sql: str


def migrations_in(source: str, folder: Traversable) -> list[Migration]:
    """The migrations in a package folder, ordered by number."""
    found: list[Migration] = []
    if not folder.is_dir():
        return found
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match:
            found.append(Migration(source, int(match.group(1)), entry.name, entry.read_text()))
    return sorted(found, key=lambda m: m.version)


def platform_migrations() -> list[Migration]:
    """The outbox and inbox tables every service has."""
    return migrations_in("platform", resources.files("clinicflow.shared") / "migrations")


_CREATE_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    source     text        NOT NULL,
    version    integer     NOT NULL,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, version)
)"""
_APPLIED = "SELECT source, version FROM schema_migrations"
_RECORD = "INSERT INTO schema_migrations (source, version, name) VALUES ($1, $2, $3)"


async def migrate(dsn: str, *, schema: str, migrations: list[Migration]) -> list[str]:
    """Create ``schema`` if needed and apply the migrations not yet applied; returns the names applied now."""
    conn = await asyncpg.connect(dsn)
    try:
        # Serialise concurrent starts of any instance of this service; the lock ends with the session.
        await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", f"clinicflow.migrate.{schema}")
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(_CREATE_LEDGER)
        applied = {(r["source"], r["version"]) for r in await conn.fetch(_APPLIED)}
        done = []
        for migration in migrations:
            if (migration.source, migration.version) in applied:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(_RECORD, migration.source, migration.version, migration.name)
            done.append(f"{migration.source}/{migration.name}")
        return done
    finally:
        await conn.close()
