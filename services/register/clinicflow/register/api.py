"""The register's HTTP routes: pages and their entries, receipts, wastage, corrections, stock checks, discrepancies
and the inspector's reports (docs/contracts.md).

No ``from __future__ import annotations`` here: FastAPI resolves the route signatures' local aliases at runtime.
"""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clinicflow.register import service
from clinicflow.register.ledger import Entry, units
from clinicflow.register.reports import page_csv, page_pdf
from clinicflow.register.repository import RegisterRepository
from clinicflow.register.rules import RegisterRules
from clinicflow.shared.auth import Staff, require_roles
from clinicflow.shared.errors import NotFound
from clinicflow.shared.runtime import transactional

# Who may do what (docs/clinical-rules.md §8): those who handle the drugs enter them; those accountable read all.
READ = require_roles("nurse", "doctor", "pharmacy", "clinical_lead", "accountable_officer")
HANDLE = require_roles("nurse", "doctor")
RECEIVE = require_roles("nurse", "doctor", "pharmacy")
CORRECT = require_roles("nurse", "doctor", "pharmacy", "accountable_officer")
COUNT = require_roles("nurse", "doctor", "pharmacy", "clinical_lead", "accountable_officer")
RESOLVE = require_roles("clinical_lead", "accountable_officer")

StaffId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="A staff id.")]
Amount = Annotated[Decimal, Field(gt=0, le=100_000, decimal_places=3, description="mg")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PageOut(_Strict):
    product: str
    page_id: uuid.UUID
    drug: str
    form: str
    strength: str
    unit: str
    balance_mg: Decimal
    balance_units: Decimal
    reorder_level_units: int
    below_reorder_level: bool
    entries: int
    open_discrepancies: int


class EntryOut(_Strict):
    entry_id: uuid.UUID
    seq: int
    kind: str
    amount_mg: Decimal
    balance_mg: Decimal
    occurred_at: datetime
    recorded_at: datetime
    recorded_by: str
    witnessed_by: str | None
    batch: str | None
    supplier: str | None
    expiry: date | None
    pathway_id: uuid.UUID | None
    session_id: uuid.UUID | None
    volume_ml: Decimal | None
    relates_to: uuid.UUID | None
    reason: str | None
    remainder_mg: Decimal | None
    hash: str

    @classmethod
    def of(cls, e: Entry) -> "EntryOut":
        return cls(entry_id=e.id, seq=e.seq, kind=e.kind.value, amount_mg=e.amount_mg, balance_mg=e.balance_mg,
                   occurred_at=e.occurred_at, recorded_at=e.recorded_at, recorded_by=e.recorded_by,
                   witnessed_by=e.witnessed_by, batch=e.batch, supplier=e.supplier, expiry=e.expiry,
                   pathway_id=e.pathway_id, session_id=e.session_id, volume_ml=e.volume_ml, relates_to=e.relates_to,
                   reason=e.reason, remainder_mg=e.remainder_mg, hash=e.hash)


class ReceiptIn(_Strict):
    quantity_units: int = Field(gt=0, le=1000, description="Whole vials, ampoules or devices received.")
    supplier: str = Field(min_length=1, max_length=120, description="The supplier (a company, never a person).")
    batch: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/.-]{0,39}$")
    expiry: date
    witnessed_by: StaffId
    received_at: AwareDatetime | None = Field(None, description="When it arrived, if entered later; default now.")


class WastageIn(_Strict):
    amount_mg: Amount
    reason: service.WastageReason
    witnessed_by: StaffId
    session_id: uuid.UUID | None = Field(None, description="The dosing session whose opened remainder this is.")
    wasted_at: AwareDatetime | None = Field(None, description="When it was destroyed, if entered later; default now.")


class CorrectionIn(_Strict):
    amount_mg: Annotated[Decimal, Field(ge=-100_000, le=100_000, decimal_places=3, description="signed mg")]
    reason: str = Field(min_length=5, max_length=500, description="Why: kept in the register, never sent anywhere.")
    witnessed_by: StaffId
    corrects: uuid.UUID | None = Field(None, description="The entry this one corrects, if one.")


class StockCheckIn(_Strict):
    counted_units: int = Field(ge=0, le=100_000, description="Whole, unopened units counted.")
    open_mg: Annotated[Decimal, Field(ge=0, le=100_000, decimal_places=3)] = Field(
        Decimal(0), description="What is left in opened units not yet wasted, mg.")
    witnessed_by: StaffId


class StockCheckOut(_Strict):
    check_id: uuid.UUID
    counted_mg: Decimal
    register_mg: Decimal
    difference_mg: Decimal
    discrepancy_id: uuid.UUID | None


class DiscrepancyOut(_Strict):
    discrepancy_id: uuid.UUID
    product: str
    kind: str
    difference_mg: Decimal | None
    entry_id: uuid.UUID | None
    session_id: uuid.UUID | None
    stock_check_id: uuid.UUID | None
    found_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class ResolveIn(_Strict):
    resolution: str = Field(min_length=5, max_length=1000, description="How it was resolved (kept here only).")


def build_router(rules: RegisterRules) -> APIRouter:
    """The register's routes, bound to its rule file."""
    router = APIRouter(tags=["register"])

    UoW = Annotated[service.UnitOfWork, transactional(
        lambda conn, events: service.UnitOfWork(RegisterRepository(conn), events, rules), source=service.SOURCE)]

    @router.get("/pages", response_model=list[PageOut])
    async def list_pages(_staff: Annotated[Staff, Depends(READ)], uow: UoW) -> list[PageOut]:
        """Every product the clinic holds, with its balance and open discrepancies."""
        heads = {h.product: h for h in await uow.register.pages()}
        open_counts = await uow.register.open_discrepancy_counts()
        pages = []
        for p in rules.products:
            head = heads.get(p.code)
            balance = head.balance_mg if head else Decimal("0.000")
            pages.append(PageOut(
                product=p.code, page_id=service.page_id(p.code), drug=p.drug, form=p.form, strength=p.strength,
                unit=p.unit, balance_mg=balance, balance_units=units(p, balance),
                reorder_level_units=p.reorder_level_units,
                below_reorder_level=balance < p.reorder_level_units * p.mg_per_unit,
                entries=head.seq if head else 0, open_discrepancies=open_counts.get(p.code, 0)))
        return pages

    @router.get("/pages/{product}/entries", response_model=list[EntryOut])
    async def get_entries(
        product: str, request: Request, _staff: Annotated[Staff, Depends(READ)], uow: UoW,
        since: Annotated[AwareDatetime | None, Query()] = None, until: Annotated[AwareDatetime | None, Query()] = None,
    ) -> list[EntryOut] | Response:
        """A page's entries recorded in [since, until), in order; ``Accept: text/csv`` for a spreadsheet."""
        known = uow.product(product)
        entries = await uow.register.entries(product=product, since=since, until=until)
        if "text/csv" in request.headers.get("accept", ""):
            return Response(page_csv(known, entries), media_type="text/csv", headers={
                "Content-Disposition": f'attachment; filename="register-{product}.csv"'})
        return [EntryOut.of(e) for e in entries]

    @router.get("/pages/{product}/report.pdf", response_class=Response)
    async def get_report(
        product: str, _staff: Annotated[Staff, Depends(READ)], uow: UoW,
        since: Annotated[AwareDatetime | None, Query()] = None, until: Annotated[AwareDatetime | None, Query()] = None,
    ) -> Response:
        """The page over a period as a printable PDF, saying whether its hash chain verifies."""
        known = uow.product(product)
        whole = await uow.register.entries(product=product)
        period = [e for e in whole if (since is None or e.recorded_at >= since) and (until is None or
                                                                                 e.recorded_at < until)]
        pdf = page_pdf(known, period, since=since, until=until, printed_at=uow.events.now, whole_page=whole)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="register-{product}.pdf"'})

    @router.post("/pages/{product}/receipts", status_code=status.HTTP_201_CREATED, response_model=EntryOut)
    async def post_receipt(product: str, body: ReceiptIn, staff: Annotated[Staff, Depends(RECEIVE)], uow: UoW
                           ) -> EntryOut:
        """Stock received, counted in and witnessed."""
        receipt = service.Receipt(body.quantity_units, body.supplier, body.batch, body.expiry, body.witnessed_by,
                                  body.received_at)
        return EntryOut.of(await service.receive(uow, product, receipt, by=staff.id))

    @router.post("/pages/{product}/wastage", status_code=status.HTTP_201_CREATED, response_model=EntryOut)
    async def post_wastage(product: str, body: WastageIn, staff: Annotated[Staff, Depends(HANDLE)], uow: UoW
                           ) -> EntryOut:
        """Drug destroyed in front of a witness (a dose's opened remainder names its session)."""
        wastage = service.Wastage(body.amount_mg, body.reason, body.witnessed_by, body.session_id, body.wasted_at)
        return EntryOut.of(await service.record_wastage(uow, product, wastage, by=staff.id))

    @router.post("/pages/{product}/corrections", status_code=status.HTTP_201_CREATED, response_model=EntryOut)
    async def post_correction(product: str, body: CorrectionIn, staff: Annotated[Staff, Depends(CORRECT)], uow: UoW
                              ) -> EntryOut:
        """A new, signed and witnessed entry that puts an earlier one right; nothing is ever edited."""
        correction = service.Correction(body.amount_mg, body.reason, body.witnessed_by, body.corrects)
        return EntryOut.of(await service.correct(uow, product, correction, by=staff.id))

    @router.post("/pages/{product}/stock-checks", status_code=status.HTTP_201_CREATED, response_model=StockCheckOut)
    async def post_stock_check(product: str, body: StockCheckIn, staff: Annotated[Staff, Depends(COUNT)], uow: UoW
                               ) -> StockCheckOut:
        """Two members of staff record what they counted; a difference is raised at once."""
        result = await service.check_stock(uow, product, counted_units=body.counted_units, open_mg=body.open_mg,
                                           witnessed_by=body.witnessed_by, by=staff.id)
        return StockCheckOut(check_id=result.check_id, counted_mg=result.counted_mg, register_mg=result.register_mg,
                             difference_mg=result.difference_mg, discrepancy_id=result.discrepancy_id)

    @router.get("/discrepancies", response_model=list[DiscrepancyOut])
    async def list_discrepancies(
        _staff: Annotated[Staff, Depends(READ)], uow: UoW,
        status_: Annotated[Literal["open", "resolved", "all"], Query(alias="status")] = "open",
        product: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[DiscrepancyOut]:
        """Discrepancies, oldest first (open ones by default)."""
        open_ = {"open": True, "resolved": False, "all": None}[status_]
        rows = await uow.register.discrepancies(open_=open_, product=product, limit=limit)
        return [DiscrepancyOut(discrepancy_id=r["id"], **{k: r[k] for k in DiscrepancyOut.model_fields
                                                         if k != "discrepancy_id"}) for r in rows]

    @router.post("/discrepancies/{discrepancy_id}/resolve", status_code=204)
    async def post_resolve(discrepancy_id: uuid.UUID, body: ResolveIn, staff: Annotated[Staff, Depends(RESOLVE)],
                           uow: UoW) -> Response:
        """The clinical lead or the accountable officer closes a discrepancy, saying how."""
        await service.resolve_discrepancy(uow, discrepancy_id, by=staff.id, resolution=body.resolution)
        return Response(status_code=204)

    @router.get("/administrations/{session_id}", response_model=EntryOut)
    async def get_administration(session_id: uuid.UUID, _staff: Annotated[Staff, Depends(READ)], uow: UoW
                                 ) -> EntryOut:
        """The administration entered for one dosing session (404 until its dose event has arrived)."""
        entry = await uow.register.administration_of(session_id=session_id)
        if entry is None:
            raise NotFound("no administration is entered for that session")
        return EntryOut.of(entry)

    return router
