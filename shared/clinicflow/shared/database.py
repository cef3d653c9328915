"""PostgreSQL access: a pool bound to one service's schema, numbered SQL migrations, and least privilege.

Migrations come from two places, applied in order: the platform's own (outbox, inbox) and the service's. An advisory
lock makes two instances starting at once migrate exactly once. They run as the schema's owner, who then grants the
service's runtime role what it needs and no more: its schema's tables to read and write (only read and add to a table
commented 'append-only', only read the migration ledger), no DDL, nothing in any other schema.
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


async def create_pool(dsn: str, *, schema: str, min_size: int = 1, max_size: int = 10,
                      statement_timeout_ms: int = 30_000) -> asyncpg.Pool:
    """A connection pool whose connections see ``schema`` first, speak JSON for jsonb, and end any statement that
    runs past the timeout."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"clinicflow-{schema}",
                         "statement_timeout": str(statement_timeout_ms)},
        init=_init_connection,
        reset=_nothing_to_reset,
    )


async def _nothing_to_reset(_conn: asyncpg.Connection) -> None:
    """What a connection returned to the pool needs beyond asyncpg's own rollback of an open transaction: nothing.

    asyncpg's default sends ``RESET ALL; UNLISTEN *; CLOSE ALL; pg_advisory_unlock_all()`` on every release: one more
    round trip for every transaction, and the bench showed socket writes to be most of a busy service's time. Pooled
    connections here never carry session state: no SET (settings are the connection's own, above), no cursor outside
    a transaction, no session advisory lock (the relay and migrations lock on connections of their own), and the one
    LISTEN (shared/loops.py) is removed before its connection goes back.
    """


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


async def migrate(dsn: str, *, schema: str, migrations: list[Migration], runtime_role: str | None = None) -> list[str]:
    """Create ``schema`` if needed and apply the migrations not yet applied, then grant ``runtime_role`` (when given)
    its table access; returns the names applied now."""
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
        if runtime_role is not None:
            await _grant_runtime_access(conn, schema, runtime_role)
        return done
    finally:
        await conn.close()


_APPEND_ONLY = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'r' AND obj_description(c.oid, 'pg_class') = 'append-only'"""


async def _grant_runtime_access(conn: asyncpg.Connection, schema: str, role: str) -> None:
    async with conn.transaction():
        await conn.execute(f"""
            REVOKE ALL ON SCHEMA "{schema}" FROM PUBLIC;
            GRANT USAGE ON SCHEMA "{schema}" TO "{role}";
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}";
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}";
            REVOKE INSERT, UPDATE, DELETE ON "{schema}".schema_migrations FROM "{role}";""")
        for row in await conn.fetch(_APPEND_ONLY, schema):
            await conn.execute(f'REVOKE UPDATE, DELETE ON "{schema}"."{row["relname"]}" FROM "{role}"')


class NotMigrated(RuntimeError):
    """The schema lacks migrations this code needs: run the service's `migrate` command first."""


async def check_migrated(dsn: str, *, schema: str, migrations: list[Migration]) -> None:
    """Refuse (:class:`NotMigrated`) when any migration has not been applied to ``schema``."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        try:
            applied = {(r["source"], r["version"]) for r in await conn.fetch(_APPLIED)}
        except asyncpg.UndefinedTableError:
            applied = set()
    finally:
        await conn.close()
    missing = [f"{m.source}/{m.name}" for m in migrations if (m.source, m.version) not in applied]
    if missing:
        raise NotMigrated(f"schema {schema!r} lacks {', '.join(missing)}: run the service's `migrate` command first")
