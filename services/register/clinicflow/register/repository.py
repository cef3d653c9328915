"""The register's SQL: pages, their append-only entries, stock checks and discrepancies.

Every method runs inside the caller's transaction (one connection), so an entry, the page's new head and the events
they cause commit together. A page is locked (``FOR UPDATE``) before its next entry is numbered, so entries on one
page are written one at a time and the chain has no forks.
"""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import datetime
from decimal import Decimal

import asyncpg

from clinicflow.register.ledger import GENESIS, Entry, EntryKind, PageHead

_ENTRY_COLUMNS = [f.name for f in fields(Entry)]
_OPEN_PAGE = """
INSERT INTO pages (product, page_id, last_hash) VALUES ($1, $2, $3) ON CONFLICT (product) DO NOTHING"""
_LOCK_PAGE = "SELECT * FROM pages WHERE product = $1 FOR UPDATE"
_PAGE = "SELECT * FROM pages WHERE product = $1"
_PAGES = "SELECT * FROM pages ORDER BY product"
_SAVE_HEAD = "UPDATE pages SET seq = $2, balance_mg = $3, last_hash = $4 WHERE product = $1"
_ADD_ENTRY = (f"INSERT INTO entries ({', '.join(_ENTRY_COLUMNS)}) "
              f"VALUES ({', '.join(f'${i}' for i in range(1, len(_ENTRY_COLUMNS) + 1))})")
_ENTRY = "SELECT * FROM entries WHERE id = $1"
_ADMINISTRATION_OF_SESSION = "SELECT * FROM entries WHERE kind = 'administration' AND session_id = $1"
_ENTRIES = """
SELECT * FROM entries WHERE product = $1 AND ($2::timestamptz IS NULL OR recorded_at >= $2)
                        AND ($3::timestamptz IS NULL OR recorded_at < $3)
ORDER BY seq"""
_BATCH_RECEIVED = "SELECT EXISTS (SELECT 1 FROM entries WHERE product = $1 AND kind = 'receipt' AND batch = $2)"
_WASTED_FOR = "SELECT coalesce(sum(-amount_mg), 0) FROM entries WHERE kind = 'wastage' AND relates_to = $1"
_UNWASTED = """
SELECT a.* FROM entries a
WHERE a.kind = 'administration' AND a.remainder_mg > 0 AND a.recorded_at < $1
  AND a.remainder_mg > (SELECT coalesce(sum(-w.amount_mg), 0) FROM entries w
                        WHERE w.kind = 'wastage' AND w.relates_to = a.id)
  AND NOT EXISTS (SELECT 1 FROM discrepancies d WHERE d.kind = 'wastage_not_recorded' AND d.entry_id = a.id)
ORDER BY a.recorded_at
LIMIT $2"""
_ADD_STOCK_CHECK = """
INSERT INTO stock_checks (id, product, counted_mg, register_mg, counted_by, witnessed_by, checked_at, after_seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""
_ADD_DISCREPANCY = """
INSERT INTO discrepancies (id, product, kind, difference_mg, entry_id, session_id, stock_check_id, found_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT DO NOTHING
RETURNING id"""
_DISCREPANCIES = """
SELECT * FROM discrepancies
WHERE ($1::boolean IS NULL OR (resolved_at IS NULL) = $1) AND ($2::text IS NULL OR product = $2)
ORDER BY found_at, id LIMIT $3"""
_OPEN_DISCREPANCY_COUNTS = "SELECT product, count(*) FROM discrepancies WHERE resolved_at IS NULL GROUP BY product"
_LOCK_DISCREPANCY = "SELECT * FROM discrepancies WHERE id = $1 FOR UPDATE"
_RESOLVE = "UPDATE discrepancies SET resolved_at = $2, resolved_by = $3, resolution = $4 WHERE id = $1"


class RegisterRepository:
    """The register in its schema, read and written on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def lock_page(self, *, product: str, page_id: uuid.UUID) -> PageHead:
        """The page's head, locked for this transaction (the page is opened on its first entry)."""
        await self._conn.execute(_OPEN_PAGE, product, page_id, GENESIS)
        return _head(await self._conn.fetchrow(_LOCK_PAGE, product))

    async def page(self, *, product: str) -> PageHead | None:
        """The page's head, unlocked; None before its first entry."""
        row = await self._conn.fetchrow(_PAGE, product)
        return _head(row) if row else None

    async def pages(self) -> list[PageHead]:
        """Every page's head."""
        return [_head(r) for r in await self._conn.fetch(_PAGES)]

    async def add_entry(self, *, entry: Entry, head: PageHead) -> bool:
        """Store the entry and move the page's head; False when the entry's session already has its administration
        (a redelivered dose event): nothing is written then."""
        try:
            async with self._conn.transaction():  # a savepoint: the duplicate is refused without losing the caller's
                await self._conn.execute(_ADD_ENTRY, *(getattr(entry, c) for c in _ENTRY_COLUMNS))
        except asyncpg.UniqueViolationError:
            return False
        await self._conn.execute(_SAVE_HEAD, head.product, head.seq, head.balance_mg, head.last_hash)
        return True

    async def entry(self, *, entry_id: uuid.UUID) -> Entry | None:
        """One entry, or None."""
        row = await self._conn.fetchrow(_ENTRY, entry_id)
        return _entry(row) if row else None

    async def administration_of(self, *, session_id: uuid.UUID) -> Entry | None:
        """The administration entered for a dosing session, or None (its dose event has not arrived)."""
        row = await self._conn.fetchrow(_ADMINISTRATION_OF_SESSION, session_id)
        return _entry(row) if row else None

    async def entries(self, *, product: str, since: datetime | None = None, until: datetime | None = None
                      ) -> list[Entry]:
        """A page's entries in order, optionally those recorded in [since, until)."""
        return [_entry(r) for r in await self._conn.fetch(_ENTRIES, product, since, until)]

    async def batch_received(self, *, product: str, batch: str) -> bool:
        """Whether the batch was ever received on this page."""
        return await self._conn.fetchval(_BATCH_RECEIVED, product, batch)

    async def wasted_for(self, *, administration_id: uuid.UUID) -> Decimal:
        """How much of an administration's remainder has been recorded as wasted, mg."""
        return await self._conn.fetchval(_WASTED_FOR, administration_id)

    async def unwasted(self, *, recorded_before: datetime, limit: int) -> list[Entry]:
        """Administrations entered before ``recorded_before`` whose remainder is not all wasted and not yet reported."""
        return [_entry(r) for r in await self._conn.fetch(_UNWASTED, recorded_before, limit)]

    async def add_stock_check(self, *, check_id: uuid.UUID, product: str, counted: Decimal, register: Decimal,
                              counted_by: str, witnessed_by: str, at: datetime, after_seq: int) -> None:
        """Record a stock check and the register balance it was compared with."""
        await self._conn.execute(_ADD_STOCK_CHECK, check_id, product, counted, register, counted_by, witnessed_by,
                                 at, after_seq)

    async def add_discrepancy(self, *, discrepancy_id: uuid.UUID, product: str, kind: str,
                              difference: Decimal | None, at: datetime, entry_id: uuid.UUID | None = None,
                              session_id: uuid.UUID | None = None, stock_check_id: uuid.UUID | None = None) -> bool:
        """Record a discrepancy; False when this one (kind and entry, or kind and dose) was recorded before."""
        return await self._conn.fetchval(_ADD_DISCREPANCY, discrepancy_id, product, kind, difference, entry_id,
                                         session_id, stock_check_id, at) is not None

    async def discrepancies(self, *, open_: bool | None, product: str | None, limit: int) -> list[asyncpg.Record]:
        """Discrepancies, oldest first: open ones, resolved ones, or all."""
        return await self._conn.fetch(_DISCREPANCIES, open_, product, limit)

    async def open_discrepancy_counts(self) -> dict[str, int]:
        """Per product: discrepancies not yet resolved."""
        return dict(await self._conn.fetch(_OPEN_DISCREPANCY_COUNTS))

    async def lock_discrepancy(self, *, discrepancy_id: uuid.UUID) -> asyncpg.Record | None:
        """One discrepancy, locked; None when there is none with that id."""
        return await self._conn.fetchrow(_LOCK_DISCREPANCY, discrepancy_id)

    async def resolve(self, *, discrepancy_id: uuid.UUID, at: datetime, by: str, resolution: str) -> None:
        """Mark a discrepancy resolved, by whom and how."""
        await self._conn.execute(_RESOLVE, discrepancy_id, at, by, resolution)


def _head(row: asyncpg.Record) -> PageHead:
    return PageHead(row["product"], row["seq"], row["balance_mg"], row["last_hash"])


def _entry(row: asyncpg.Record) -> Entry:
    return Entry(**{c: row[c] for c in _ENTRY_COLUMNS if c != "kind"}, kind=EntryKind(row["kind"]))
