"""The register's use cases: each takes one page's lock, enters what happened and raises what does not add up, with
the events they cause, in one unit of work (docs/clinical-rules.md §8)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from clinicflow.register.ledger import (
    Draft,
    Entry,
    EntryKind,
    administration_findings,
    append,
    counted_mg,
    fell_below_reorder_level,
    mg,
    remainder_mg,
    units,
)
from clinicflow.register.repository import RegisterRepository
from clinicflow.register.rules import Product, RegisterRules
from clinicflow.shared import catalogue
from clinicflow.shared.errors import IllegalMove, InvalidField, NotFound
from clinicflow.shared.outbox import EventWriter

SOURCE = "clinicflow/register"
# Register pages are named by a stable id derived from the product code: events about a page carry it as subject.
_PAGES = uuid.UUID("6b1f3f3e-4f0e-4c8e-9a55-0c4b7d1e2a90")
CLOCK_SKEW = timedelta(minutes=2)
WastageReason = Literal["unused_remainder", "broken_or_spilled", "expired", "refused_by_client"]


def page_id(product: str) -> uuid.UUID:
    """The register page's id: the subject of the events about it."""
    return uuid.uuid5(_PAGES, product)


@dataclass(frozen=True)
class UnitOfWork:
    """One transaction's view of the register."""

    register: RegisterRepository
    events: EventWriter
    rules: RegisterRules

    def product(self, code: str) -> Product:
        """The page's product; NotFound for a product the clinic does not hold."""
        product = self.rules.product(code)
        if product is None:
            raise NotFound("the register has no page for that product")
        return product


def check_second_person(recorded_by: str, witnessed_by: str) -> None:
    """A controlled-drug entry is witnessed by a second member of staff."""
    if witnessed_by == recorded_by:
        raise InvalidField("witnessed_by", "same_person", "the witness must be a second member of staff")


def _check_not_future(field: str, at: datetime, now: datetime) -> None:
    if at > now + CLOCK_SKEW:
        raise InvalidField(field, "in_future", "cannot be in the future")


async def _enter(uow: UnitOfWork, product: Product, draft: Draft) -> Entry | None:
    """Number the draft as the page's next entry and store it; tell what it causes. None for a session's second
    administration (nothing is written)."""
    head = await uow.register.lock_page(product=product.code, page_id=page_id(product.code))
    entry, after = append(head, draft, entry_id=uuid.uuid4(), recorded_at=uow.events.now,
                          rule_set_version=uow.rules.version)
    if not await uow.register.add_entry(entry=entry, head=after):
        return None
    if after.balance_mg < 0 <= head.balance_mg:
        await _discrepancy(uow, product.code, "negative_balance", after.balance_mg, entry_id=entry.id)
    if fell_below_reorder_level(product, before_mg=head.balance_mg, after_mg=after.balance_mg):
        await uow.events.emit(page_id(product.code), catalogue.RegisterStockLow(
            product=product.code, balance_units=float(units(product, after.balance_mg)),
            reorder_level_units=product.reorder_level_units, rule_set_version=uow.rules.version))
    return entry


async def _discrepancy(uow: UnitOfWork, product: str, kind: str, difference: Decimal | None, **refs: uuid.UUID
                       ) -> uuid.UUID | None:
    """Record a discrepancy and tell the clinical lead and the accountable officer at once; None when it was
    recorded before."""
    discrepancy_id = uuid.uuid4()
    if not await uow.register.add_discrepancy(discrepancy_id=discrepancy_id, product=product, kind=kind,
                                              difference=difference, at=uow.events.now, **refs):
        return None
    await uow.events.emit(page_id(product), catalogue.RegisterDiscrepancyFound(
        discrepancy_id=discrepancy_id, product=product, kind=kind,
        difference_mg=float(difference) if difference is not None else None, found_at=uow.events.now,
        rule_set_version=uow.rules.version))
    return discrepancy_id


@dataclass(frozen=True)
class Receipt:
    """Stock received from a supplier, in whole units."""

    quantity_units: int
    supplier: str
    batch: str
    expiry: date
    witnessed_by: str
    received_at: datetime | None = None


async def receive(uow: UnitOfWork, code: str, receipt: Receipt, *, by: str) -> Entry:
    """A receipt → a new entry adding its quantity to the page."""
    product = uow.product(code)
    check_second_person(by, receipt.witnessed_by)
    at = receipt.received_at or uow.events.now
    _check_not_future("received_at", at, uow.events.now)
    if receipt.expiry < at.date():
        raise InvalidField("expiry", "expired", "this batch has expired: record it as received and wasted instead")
    return await _enter(uow, product, Draft(
        kind=EntryKind.RECEIPT, amount_mg=mg(receipt.quantity_units * product.mg_per_unit), occurred_at=at,
        recorded_by=by, witnessed_by=receipt.witnessed_by, batch=receipt.batch, supplier=receipt.supplier,
        expiry=receipt.expiry))


async def enter_administration(uow: UnitOfWork, pathway_id: uuid.UUID, dose: catalogue.DoseAdministered) -> None:
    """A dose from sessions → its administration entry, exactly once per dosing session; what does not add up about
    it (an unknown batch, no witness, less drawn up than given) is entered all the same and raised at once."""
    product = uow.rules.product(dose.product)
    amount = mg(dose.amount_mg)
    if product is None:  # no page to enter it on: the discrepancy holds it until a correction puts it on one
        await _discrepancy(uow, dose.product, "unknown_product", -amount, session_id=dose.session_id)
        return
    if await uow.register.administration_of(session_id=dose.session_id) is not None:
        return
    volume = mg(dose.volume_drawn_ml) if dose.volume_drawn_ml is not None else None
    findings = administration_findings(
        product, amount_mg=amount, volume_drawn_ml=volume, witnessed=dose.witnessed_by is not None,
        batch_received=await uow.register.batch_received(product=product.code, batch=dose.batch))
    entry = await _enter(uow, product, Draft(
        kind=EntryKind.ADMINISTRATION, amount_mg=-amount, occurred_at=dose.given_at, recorded_by=dose.given_by,
        witnessed_by=dose.witnessed_by, batch=dose.batch, pathway_id=pathway_id, session_id=dose.session_id,
        volume_ml=volume, remainder_mg=remainder_mg(product, given_mg=amount, volume_drawn_ml=volume)))
    if entry is None:
        return
    for kind in findings:
        difference = mg(volume * product.mg_per_ml) - amount if kind == "drawn_less_than_given" else -amount
        await _discrepancy(uow, product.code, kind, difference, entry_id=entry.id)


@dataclass(frozen=True)
class Wastage:
    """Drug destroyed in front of a witness: the unused remainder of a dose's opened unit, or stock that broke,
    expired or was refused."""

    amount_mg: Decimal
    reason: WastageReason
    witnessed_by: str
    session_id: uuid.UUID | None = None
    wasted_at: datetime | None = None


async def record_wastage(uow: UnitOfWork, code: str, wastage: Wastage, *, by: str) -> Entry:
    """Witnessed wastage → a new entry taking it off the page; a dose's remainder can be wasted only once."""
    product = uow.product(code)
    check_second_person(by, wastage.witnessed_by)
    at = wastage.wasted_at or uow.events.now
    _check_not_future("wasted_at", at, uow.events.now)
    administration = None
    if wastage.reason == "unused_remainder":
        if wastage.session_id is None:
            raise InvalidField("session_id", "missing", "name the dosing session whose remainder this is")
        administration = await uow.register.administration_of(session_id=wastage.session_id)
        if administration is None:
            raise IllegalMove("that session's dose is not in the register yet: try again in a moment")
        if administration.product != code:
            raise InvalidField("session_id", "other_product", "that session's dose was drawn from another product")
        outstanding = administration.remainder_mg - await uow.register.wasted_for(administration_id=administration.id)
        if outstanding <= 0:
            raise IllegalMove("that dose's remainder is already recorded as wasted")
        if wastage.amount_mg > outstanding:
            raise InvalidField("amount_mg", "more_than_remainder",
                               f"only {outstanding} mg of that dose's opened {product.unit} is left to waste")
    return await _enter(uow, product, Draft(
        kind=EntryKind.WASTAGE, amount_mg=-mg(wastage.amount_mg), occurred_at=at, recorded_by=by,
        witnessed_by=wastage.witnessed_by, session_id=wastage.session_id,
        relates_to=administration.id if administration else None, reason=wastage.reason,
        pathway_id=administration.pathway_id if administration else None))


@dataclass(frozen=True)
class Correction:
    """A signed, witnessed adjustment that puts an earlier entry (or the page) right; the entry it corrects stays."""

    amount_mg: Decimal
    reason: str
    witnessed_by: str
    corrects: uuid.UUID | None = None


async def correct(uow: UnitOfWork, code: str, correction: Correction, *, by: str) -> Entry:
    """A correction → a new dated, signed entry that references what it corrects; nothing is edited."""
    product = uow.product(code)
    check_second_person(by, correction.witnessed_by)
    if correction.amount_mg == 0:
        raise InvalidField("amount_mg", "zero", "a correction adds to the balance or takes from it: give the amount")
    if correction.corrects is not None:
        corrected = await uow.register.entry(entry_id=correction.corrects)
        if corrected is None or corrected.product != code:
            raise InvalidField("corrects", "unknown_entry", "no entry with that id on this page")
    return await _enter(uow, product, Draft(
        kind=EntryKind.CORRECTION, amount_mg=mg(correction.amount_mg), occurred_at=uow.events.now, recorded_by=by,
        witnessed_by=correction.witnessed_by, relates_to=correction.corrects, reason=correction.reason))


@dataclass(frozen=True)
class StockCheckResult:
    """What a stock check found."""

    check_id: uuid.UUID
    counted_mg: Decimal
    register_mg: Decimal
    discrepancy_id: uuid.UUID | None

    @property
    def difference_mg(self) -> Decimal:
        """Counted minus the register: negative when stock is missing."""
        return self.counted_mg - self.register_mg


async def check_stock(uow: UnitOfWork, code: str, *, counted_units: int, open_mg: Decimal, witnessed_by: str,
                      by: str) -> StockCheckResult:
    """Two members of staff count a page's stock; any difference from the register is raised at once."""
    product = uow.product(code)
    check_second_person(by, witnessed_by)
    head = await uow.register.lock_page(product=code, page_id=page_id(code))
    counted = counted_mg(product, counted_units=counted_units, open_mg=open_mg)
    check_id = uuid.uuid4()
    await uow.register.add_stock_check(check_id=check_id, product=code, counted=counted, register=head.balance_mg,
                                       counted_by=by, witnessed_by=witnessed_by, at=uow.events.now,
                                       after_seq=head.seq)
    discrepancy = None
    if counted != head.balance_mg:
        discrepancy = await _discrepancy(uow, code, "stock_count_differs", counted - head.balance_mg,
                                         stock_check_id=check_id)
    return StockCheckResult(check_id, counted, head.balance_mg, discrepancy)


async def resolve_discrepancy(uow: UnitOfWork, discrepancy_id: uuid.UUID, *, by: str, resolution: str) -> None:
    """The clinical lead or the accountable officer closes a discrepancy, saying how it was resolved."""
    row = await uow.register.lock_discrepancy(discrepancy_id=discrepancy_id)
    if row is None:
        raise NotFound("no discrepancy with that id")
    if row["resolved_at"] is not None:
        raise IllegalMove(f"already resolved by {row['resolved_by']}")
    await uow.register.resolve(discrepancy_id=discrepancy_id, at=uow.events.now, by=by, resolution=resolution)


async def report_unwasted(uow: UnitOfWork, *, limit: int = 100) -> int:
    """The wastage watch: administrations whose opened remainder was not recorded as wasted within the shift become
    discrepancies (once each); returns how many it raised."""
    cutoff = uow.events.now - timedelta(hours=uow.rules.wastage_within_hours)
    raised = 0
    for administration in await uow.register.unwasted(recorded_before=cutoff, limit=limit):
        wasted = await uow.register.wasted_for(administration_id=administration.id)
        if await _discrepancy(uow, administration.product, "wastage_not_recorded",
                              -(administration.remainder_mg - wasted), entry_id=administration.id):
            raised += 1
    return raised
