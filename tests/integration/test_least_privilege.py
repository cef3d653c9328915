"""Least privilege in the database, on the real PostgreSQL: each service logs in as its own role, which reads and
writes its own schema's tables and nothing else; only the owner migrates; the audit trail can only grow."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from clinicflow.intake.app import migrations as intake_migrations
from clinicflow.localinfra.databases import provision
from clinicflow.shared.database import NotMigrated, check_migrated, platform_migrations

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
