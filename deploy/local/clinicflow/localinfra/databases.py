"""Each service's database as production has it, on a local PostgreSQL: its own login role, its schema migrated by
the owner (the admin login here), and table access granted to that role only (docs/contracts.md, least privilege).

`make run` and the end-to-end tests use it, so what runs locally is the least-privilege setup, not a superuser.
"""

from __future__ import annotations

import asyncio
import importlib
import secrets
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from clinicflow.shared.database import migrate, platform_migrations


def runtime_dsn(admin_dsn: str, role: str, password: str) -> str:
    """The admin DSN with the runtime role's login in place of the admin's."""
    parts = urlsplit(admin_dsn)
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=f"{role}:{password}@{host}"))


async def provision(admin_dsn: str, schemas: dict[str, str]) -> dict[str, str]:
    """For each service (name → schema): a login role named after the schema with a fresh password, the schema
    migrated by the admin (its owner) with table access granted to that role; returns each service's runtime DSN."""
    dsns = {}
    for service, schema in schemas.items():
        role, password = f"clinicflow_{schema}", secrets.token_urlsafe(24)  # URL-safe: quoting-safe too
        conn = await asyncpg.connect(admin_dsn)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            await conn.execute(
                f"{verb} ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'")
        finally:
            await conn.close()
        migrations = importlib.import_module(f"clinicflow.{service}.app").migrations()
        await migrate(admin_dsn, schema=schema, migrations=[*platform_migrations(), *migrations], runtime_role=role)
        dsns[service] = runtime_dsn(admin_dsn, role, password)
    return dsns


def provision_now(admin_dsn: str, schemas: dict[str, str]) -> dict[str, str]:
    """:func:`provision` from synchronous code, whether or not an event loop is running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, provision(admin_dsn, schemas)).result()
