"""The controlled-drugs register's arithmetic and its tamper evidence (docs/clinical-rules.md §8). Pure: no I/O.

A page is one product. Every entry moves its balance by a signed amount in mg (a receipt adds, an administration and
a wastage take away, a correction adds or takes away) and records the balance after it; entries are never altered.
Each entry's hash covers its content and the previous entry's hash, so changing, removing or reordering any entry
breaks the chain from that entry on, and :func:`verify_page` names the first broken link.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from clinicflow.register.rules import Product

MG = Decimal("0.001")  # amounts are kept to the microgram
GENESIS = "0" * 64  # the "previous hash" of a page's first entry


class EntryKind(StrEnum):
    """What an entry records."""

    RECEIPT = "receipt"
    ADMINISTRATION = "administration"
    WASTAGE = "wastage"
    CORRECTION = "correction"


def mg(value: Decimal | float | int | str) -> Decimal:
    """An amount in mg, to the microgram (floats go through their shortest text, so 3.7 stays 3.7)."""
    return Decimal(str(value)).quantize(MG)


@dataclass(frozen=True)
class Draft:
    """What a member of staff (or a dose event) asks the register to enter; the page adds the rest."""

    kind: EntryKind
    amount_mg: Decimal  # signed: what the entry does to the balance
    occurred_at: datetime
    recorded_by: str
    witnessed_by: str | None = None
    batch: str | None = None
    supplier: str | None = None
    expiry: date | None = None
    pathway_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    volume_ml: Decimal | None = None
    relates_to: uuid.UUID | None = None  # a wastage's administration; a correction's corrected entry
    reason: str | None = None
    remainder_mg: Decimal | None = None  # an administration's opened but unused amount, to be wasted


@dataclass(frozen=True)
class Entry(Draft):
    """An entry on a page, as stored: numbered, with the balance after it and its link in the hash chain."""

    id: uuid.UUID = uuid.UUID(int=0)
    product: str = ""
    seq: int = 0
    balance_mg: Decimal = Decimal(0)
    recorded_at: datetime = datetime.min.replace(tzinfo=UTC)
    rule_set_version: str = ""
    prev_hash: str = GENESIS
    hash: str = ""


@dataclass(frozen=True)
class PageHead:
    """Where a page stands: its last entry's number, the balance and the last hash."""

    product: str
    seq: int = 0
    balance_mg: Decimal = Decimal(0)
    last_hash: str = GENESIS


def _canonical(value: object) -> object:
    if isinstance(value, Decimal):
        return str(mg(value))
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    return value


def entry_hash(entry: Entry) -> str:
    """SHA-256 over the entry's every field but its own hash, in a fixed canonical form."""
    content = {f.name: _canonical(getattr(entry, f.name)) for f in fields(entry) if f.name != "hash"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def append(head: PageHead, draft: Draft, *, entry_id: uuid.UUID, recorded_at: datetime, rule_set_version: str
           ) -> tuple[Entry, PageHead]:
    """The draft as the page's next entry, and the page's new head."""
    entry = Entry(**{f.name: getattr(draft, f.name) for f in fields(Draft)},
                  id=entry_id, product=head.product, seq=head.seq + 1, balance_mg=mg(head.balance_mg + draft.amount_mg),
                  recorded_at=recorded_at, rule_set_version=rule_set_version, prev_hash=head.last_hash)
    entry = replace(entry, amount_mg=mg(entry.amount_mg), hash=entry_hash(entry))
    return entry, PageHead(head.product, entry.seq, entry.balance_mg, entry.hash)


@dataclass(frozen=True)
class BrokenLink:
    """The first entry of a page that does not follow from the ones before it."""

    product: str
    seq: int
    why: str


def verify_page(product: str, entries: list[Entry], head: PageHead | None = None) -> BrokenLink | None:
    """Recompute a page's chain (entries in stored order) and, when given, its head; the first broken link."""
    expected = PageHead(product)
    for entry in entries:
        if entry.seq != expected.seq + 1:
            return BrokenLink(product, expected.seq + 1, f"entry {expected.seq + 1} is missing (found {entry.seq})")
        if entry.prev_hash != expected.last_hash:
            return BrokenLink(product, entry.seq, "does not link to the entry before it")
        if entry.balance_mg != mg(expected.balance_mg + entry.amount_mg):
            return BrokenLink(product, entry.seq, "its balance does not follow from the one before it")
        if entry.hash != entry_hash(entry):
            return BrokenLink(product, entry.seq, "its content was changed after it was entered")
        expected = PageHead(product, entry.seq, entry.balance_mg, entry.hash)
    if head is not None and (head.seq, head.balance_mg, head.last_hash) != (expected.seq, expected.balance_mg,
                                                                           expected.last_hash):
        return BrokenLink(product, expected.seq + 1, "the page's head does not match its last entry "
                                                     "(an entry was removed, or the balance changed)")
    return None


def units(product: Product, amount_mg: Decimal) -> Decimal:
    """An amount in the product's units (vials, devices), to two places, rounded down: 9.995 vials is not ten."""
    return (amount_mg / product.mg_per_unit).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def remainder_mg(product: Product, *, given_mg: Decimal, volume_drawn_ml: Decimal | None) -> Decimal:
    """What is left in the units opened for a dose, to be wasted and witnessed: the units a dose (or the volume drawn
    up, when more) needs, whole, less what was given."""
    drawn = given_mg
    per_ml = product.mg_per_ml  # a solution's concentration (None for a device, given whole)
    if per_ml is not None and volume_drawn_ml is not None:
        drawn = max(drawn, mg(volume_drawn_ml * per_ml))
    opened = math.ceil(drawn / product.mg_per_unit)
    return mg(opened * product.mg_per_unit - given_mg)


def administration_findings(product: Product, *, amount_mg: Decimal, volume_drawn_ml: Decimal | None,
                            batch_received: bool, witnessed: bool) -> list[str]:
    """What does not add up about an administration the register enters all the same (the drug was given)."""
    findings = []
    if not batch_received:
        findings.append("unknown_batch")
    if not witnessed:
        findings.append("unwitnessed_administration")
    per_ml = product.mg_per_ml  # a solution's concentration (None for a device, given whole)
    if per_ml is not None and volume_drawn_ml is not None and mg(volume_drawn_ml * per_ml) < amount_mg:
        findings.append("drawn_less_than_given")
    return findings


def counted_mg(product: Product, *, counted_units: int, open_mg: Decimal) -> Decimal:
    """A stock check's count in mg: whole units plus what is left in opened ones not yet wasted."""
    return mg(counted_units * product.mg_per_unit + open_mg)


def fell_below_reorder_level(product: Product, *, before_mg: Decimal, after_mg: Decimal) -> bool:
    """Whether this entry took the page below its reorder level (told once per crossing, not at every entry)."""
    level = product.reorder_level_units * product.mg_per_unit
    return before_mg >= level > after_mg
