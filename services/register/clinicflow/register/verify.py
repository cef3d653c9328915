"""``clinicflow register verify``: recompute every page's hash chain from the database and name the first broken link.

Reads as the register's runtime role or any role that may read its schema; writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from clinicflow.register.ledger import BrokenLink, verify_page
from clinicflow.register.repository import RegisterRepository


@dataclass(frozen=True)
class PageVerdict:
    """One page: how many entries it has, and its first broken link if any."""

    product: str
    entries: int
    broken: BrokenLink | None


async def verify_register(dsn: str, schema: str) -> list[PageVerdict]:
    """Every page of the register in ``schema``, verified."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema, "default_transaction_read_only": "on"})
    try:
        async with conn.transaction(isolation="repeatable_read"):  # one snapshot: heads and entries agree
            register = RegisterRepository(conn)
            verdicts = []
            for head in await register.pages():
                entries = await register.entries(product=head.product)
                verdicts.append(PageVerdict(head.product, len(entries), verify_page(head.product, entries, head)))
            return verdicts
    finally:
        await conn.close()
