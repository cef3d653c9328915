"""Screening's HTTP routes: measures, health history, risk review, the doctor's sign-off, the case and its FHIR export.

No ``from __future__ import annotations`` here: FastAPI resolves the route signatures' local aliases at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from clinicflow.screening import service
from clinicflow.screening.contraindications import History, Proposal
from clinicflow.screening.domain import Measure, SignOff
from clinicflow.screening.fhir import measures_bundle
from clinicflow.screening.repository import ScreeningRepository
from clinicflow.screening.rules import RuleSet
from clinicflow.shared.auth import Staff, require_roles
from clinicflow.shared.care_team import AccessRequest, CareTeamRepository, access_request, care_team_routes
from clinicflow.shared.catalogue import Instrument, MeasureContext
from clinicflow.shared.errors import InvalidField
from clinicflow.shared.runtime import transactional

CLINICAL = require_roles("clinician", "doctor", "nurse")
ASSESSING = require_roles("clinician", "doctor")
DOCTOR = require_roles("doctor")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MeasureIn(_Strict):
    instrument: Instrument
    # Each answer is checked by the scoring rules, after item 9 has been read (so no item can hide an item-9 alert).
    answers: list[Any] = Field(max_length=40, description="Integers in item order.",
                               json_schema_extra={"items": {"type": "integer"}})
    context: MeasureContext = "baseline"


MEASURE_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": MeasureIn.model_json_schema()}}}}


class MeasureOut(_Strict):
    measure_id: uuid.UUID
    instrument: str
    total: int
    band: str
    flags: list[str]
    context: str
    recorded_at: datetime
    rule_set_version: str
    provisional_ptsd: bool | None = Field(None, description="PCL-5 only: total at or above the cut-off.")

    @classmethod
    def of(cls, m: Measure) -> "MeasureOut":
        return cls(
            measure_id=m.id, instrument=m.instrument, total=m.total, band=m.band, flags=list(m.flags),
            context=m.context, recorded_at=m.recorded_at, rule_set_version=m.rule_set_version,
            provisional_ptsd=("provisional_ptsd" in m.flags) if m.instrument == "pcl5" else None,
        )


class BloodPressure(_Strict):
    systolic: int = Field(ge=50, le=300, description="mmHg")
    diastolic: int = Field(ge=20, le=200, description="mmHg")


class HistoryIn(_Strict):
    conditions: list[str] = Field(
        description="Contraindication codes present (docs/clinical-rules.md §3); empty for none.")
    medicine_classes: list[str] = Field(default_factory=list, description="Current medicines by class.")
    blood_pressure: BloodPressure
    weight_kg: float = Field(gt=20, lt=400)


class ProposalOut(_Strict):
    outcome: str
    absolute: list[str]
    relative: list[str]
    rule_set_version: str

    @classmethod
    def of(cls, p: Proposal) -> "ProposalOut":
        return cls(outcome=p.outcome, absolute=list(p.absolute), relative=list(p.relative),
                   rule_set_version=p.rule_set_version)


class RiskReviewIn(_Strict):
    risk_level: Literal["low", "moderate", "high"]


class SignOffIn(_Strict):
    outcome: Literal["eligible", "ineligible"]
    override_reason: str | None = Field(None, min_length=3, max_length=2000)


class RiskFlagOut(_Strict):
    alert_id: uuid.UUID
    reason: str
    severity: str
    raised_at: datetime
    acknowledged_by: str | None
    reviewed_by: str | None
    risk_level: str | None


class CaseOut(_Strict):
    pathway_id: uuid.UUID
    status: str
    opened_at: datetime
    proposal: ProposalOut | None
    risk_review_required: bool
    risk_level: str | None = Field(description="The latest risk review's finding; high blocks an eligible sign-off "
                                               "unless the doctor overrides with a reason.")
    risk_flags: list[RiskFlagOut]
    measures: list[MeasureOut]
    outcome: str | None
    overridden: bool
    signed_by: str | None
    signed_at: datetime | None
    closed_reason: str | None


def build_router(rules: RuleSet) -> APIRouter:
    """Screening's routes, bound to the rule set in force."""
    router = APIRouter(tags=["screening"])

    UoW = Annotated[service.UnitOfWork, transactional(
        lambda conn, events: service.UnitOfWork(ScreeningRepository(conn), CareTeamRepository(conn), events, rules),
        source=service.SOURCE)]
    Access = Annotated[AccessRequest, Depends(access_request)]

    @router.post("/pathways/{pathway_id}/measures", status_code=201, response_model=MeasureOut,
                 response_model_exclude_none=True, openapi_extra=MEASURE_BODY)
    async def post_measure(
        pathway_id: uuid.UUID, body: Annotated[dict[str, Any], Body()], staff: Annotated[Staff, Depends(CLINICAL)],
        uow: UoW,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> MeasureOut:
        """Score a completed questionnaire (answers stay in screening; events carry totals and bands).

        The body is read as submitted, so a readable PHQ-9 item-9 answer raises its safety alert even when another
        field is refused (the 422 then names every bad field)."""
        request_key = f"{pathway_id}:{idempotency_key}" if idempotency_key else None
        return MeasureOut.of(await service.record_measure(uow, pathway_id, _as_submitted(body, staff, request_key)))

    @router.post("/pathways/{pathway_id}/history", response_model=ProposalOut)
    async def post_history(
        pathway_id: uuid.UUID, body: HistoryIn, _staff: Annotated[Staff, Depends(ASSESSING)], uow: UoW
    ) -> ProposalOut:
        """Record the health history; the rules propose eligible, needs_review or ineligible with reasons."""
        history = History(
            conditions=frozenset(body.conditions), medicine_classes=frozenset(body.medicine_classes),
            systolic=body.blood_pressure.systolic, diastolic=body.blood_pressure.diastolic, weight_kg=body.weight_kg,
        )
        return ProposalOut.of(await service.record_history(uow, pathway_id, history))

    @router.post("/pathways/{pathway_id}/risk-review", response_model=CaseOut)
    async def post_risk_review(
        pathway_id: uuid.UUID, body: RiskReviewIn, staff: Annotated[Staff, Depends(DOCTOR)], access: Access,
        uow: UoW,
    ) -> CaseOut:
        """A doctor's review of the risk a safety flag raised (answers with the case: a read of the record)."""
        await service.open_record(uow, pathway_id, staff_id=staff.id, request=access)
        await service.review_risk(uow, pathway_id, doctor_id=staff.id, risk_level=body.risk_level)
        return await _view(uow, pathway_id)

    @router.post("/pathways/{pathway_id}/sign-off", response_model=CaseOut)
    async def post_sign_off(
        pathway_id: uuid.UUID, body: SignOffIn, staff: Annotated[Staff, Depends(DOCTOR)], access: Access, uow: UoW
    ) -> CaseOut:
        """The doctor accepts the proposal, or decides otherwise with a written reason (answers with the case)."""
        await service.open_record(uow, pathway_id, staff_id=staff.id, request=access)
        decision = SignOff(outcome=body.outcome, doctor_id=staff.id, reason=body.override_reason)
        await service.sign_off(uow, pathway_id, decision)
        return await _view(uow, pathway_id)

    @router.get("/pathways/{pathway_id}/screening", response_model=CaseOut)
    async def get_screening(
        pathway_id: uuid.UUID, staff: Annotated[Staff, Depends(CLINICAL)], access: Access, uow: UoW
    ) -> CaseOut:
        """The case: measures, proposal and reasons, safety flags, status (care team, or break the glass)."""
        await uow.screening.get_case(pathway_id=pathway_id)
        await service.open_record(uow, pathway_id, staff_id=staff.id, request=access)
        return await _view(uow, pathway_id)

    @router.get("/pathways/{pathway_id}/screening/fhir")
    async def get_screening_fhir(
        pathway_id: uuid.UUID, staff: Annotated[Staff, Depends(CLINICAL)], access: Access, uow: UoW
    ) -> dict:
        """The measures as a FHIR R4 Bundle of QuestionnaireResponse and Observation resources (LOINC-coded)."""
        await uow.screening.get_case(pathway_id=pathway_id)
        await service.open_record(uow, pathway_id, staff_id=staff.id, request=access)
        return measures_bundle(str(pathway_id), await uow.screening.measures(pathway_id=pathway_id))

    router.include_router(care_team_routes(
        UoW, record_exists=lambda uow, pathway_id: uow.screening.get_case(pathway_id=pathway_id), record="screening"))
    return router


def _as_submitted(body: dict[str, Any], staff: Staff, request_key: str | None) -> service.MeasureInput:
    """The submission with the form-level refusals listed rather than raised: item 9 still has to be read."""
    refused: tuple[InvalidField, ...] = ()
    try:
        MeasureIn.model_validate(body)
    except ValidationError as exc:
        refused = tuple(InvalidField(".".join(map(str, e["loc"])), e["type"], e["msg"]) for e in exc.errors())
    answers = body.get("answers")
    return service.MeasureInput(
        instrument=str(body.get("instrument", "")), answers=answers if isinstance(answers, list) else [],
        context=str(body.get("context", "baseline")), staff_id=staff.id, request_key=request_key, refused=refused,
    )


async def _view(uow: service.UnitOfWork, pathway_id: uuid.UUID) -> CaseOut:
    case = await uow.screening.get_case(pathway_id=pathway_id)
    return CaseOut(
        pathway_id=case.pathway_id, status=case.status.value, opened_at=case.opened_at,
        proposal=ProposalOut.of(case.proposal) if case.proposal else None,
        risk_review_required=case.risk_review_required, risk_level=case.risk_level,
        risk_flags=[
            RiskFlagOut(alert_id=f.alert_id, reason=f.reason, severity=f.severity, raised_at=f.raised_at,
                        acknowledged_by=f.acknowledged_by, reviewed_by=f.reviewed_by, risk_level=f.risk_level)
            for f in await uow.screening.risk_flags(pathway_id=pathway_id)
        ],
        measures=[MeasureOut.of(m) for m in await uow.screening.measures(pathway_id=pathway_id)],
        outcome=case.outcome, overridden=case.overridden, signed_by=case.signed_by, signed_at=case.signed_at,
        closed_reason=case.closed_reason,
    )
