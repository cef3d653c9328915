"""Sessions' HTTP routes: the course, each step of a dosing session, integration, and FHIR export.

Every clinical act takes the member of staff from their token and the time it happened from the body (default now;
charted late within the charting window, never in the future); the time it was entered is always now.
No ``from __future__ import annotations`` here: FastAPI resolves the route signatures' local aliases at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clinicflow.sessions import service
from clinicflow.sessions.domain import (
    Act,
    Consent,
    DischargeChecklist,
    DischargeRequest,
    DosingSession,
    Integration,
    Preparation,
    SessionStatus,
    VitalsReading,
)
from clinicflow.sessions.dosing import DoseOrder
from clinicflow.sessions.fhir import session_bundle
from clinicflow.sessions.monitoring import PreDoseCheck, Vitals
from clinicflow.sessions.repository import SessionsRepository
from clinicflow.sessions.rules import SessionRules
from clinicflow.sessions.safety import safety_hold
from clinicflow.shared.auth import Staff, require_roles
from clinicflow.shared.runtime import transactional

TEAM = require_roles("doctor", "nurse", "clinician", "therapist", "clinical_lead")
CARE = require_roles("doctor", "nurse", "clinician")
CHECKING = require_roles("doctor", "nurse")
DOCTOR = require_roles("doctor")
THERAPIST = require_roles("therapist")
PREPARING = require_roles("doctor", "nurse", "clinician", "therapist")
CONSENTING = require_roles("doctor", "clinician")
Code = Annotated[str, Field(pattern=r"^[a-z0-9_]{2,60}$")]
Reason = Annotated[str, Field(min_length=10, max_length=2000, description="The doctor's reason, in words.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VitalsIn(_Strict):
    systolic: int = Field(ge=40, le=300, description="mmHg")
    diastolic: int = Field(ge=20, le=200, description="mmHg")
    heart_rate: int = Field(ge=20, le=250, description="beats per minute")
    spo2: int = Field(ge=50, le=100, description="% on room air")


class ScheduleIn(_Strict):
    scheduled_at: AwareDatetime


class PreDoseIn(VitalsIn):
    respiratory_rate: int = Field(ge=4, le=60, description="breaths per minute")
    weight_kg: float = Field(gt=20, lt=400)
    escort_confirmed: bool
    interacting_medicines_since_last: bool
    alcohol_or_drugs_last_24h: bool
    fasted_as_instructed: bool = Field(description="No food in the 2 hours before, as instructed.")
    pregnancy_excluded: bool = Field(description="Possible pregnancy excluded (true also where not applicable).")
    consent_reconfirmed: bool = Field(description="The client confirmed again their consent to the course.")
    measured_at: AwareDatetime | None = Field(None, description="When the check was done, if charted later.")


class PreparationIn(_Strict):
    topics: list[Code] = Field(min_length=1, description="What was covered (the rule file's preparation topics).")
    safety_plan: list[Code] = Field(min_length=1, description="The client's safety plan, as coded items.")
    held_at: AwareDatetime | None = Field(None, description="When the session took place, if charted later.")


class ConsentIn(_Strict):
    form_version: str = Field(min_length=1, max_length=100, description="The consent form the client signed.")
    signed_at: AwareDatetime | None = Field(None, description="When it was signed, if charted later.")


class OverrideIn(_Strict):
    rule: Code = Field(description="One deferral reason of this session.")
    reason: Reason


class DoseOrderIn(_Strict):
    route: Literal["iv", "im", "intranasal"]
    dose_mg_per_kg: float | None = Field(None, gt=0, le=5)
    dose_mg: float | None = Field(None, gt=0, le=500)
    infusion_minutes: int | None = Field(None, ge=1, le=600, description="IV only: how long the infusion runs.")
    override_reason: Reason | None = None


class DoseGivenIn(_Strict):
    given_at: AwareDatetime | None = Field(None, description="When it was given, if charted later; default now.")


class InSessionVitalsIn(VitalsIn):
    respiratory_rate: int | None = Field(None, ge=4, le=60, description="breaths per minute")
    moaas: int | None = Field(None, ge=0, le=5, description="MOAA/S: 5 alert .. 0 no response to pain")
    cadss: list[Annotated[int, Field(ge=0, le=4)]] | None = Field(None, min_length=6, max_length=6,
                                                                   description="CADSS-6 items")
    measured_at: AwareDatetime | None = Field(None, description="When taken, if charted later; default now.")


class ChecklistIn(_Strict):
    vitals_back_in_range: bool
    moaas_5: bool
    escort_present: bool
    no_driving_until_next_day_advised: bool
    instructions_given: bool
    next_session_booked: bool
    integration_booked: bool


class DischargeIn(_Strict):
    checklist: ChecklistIn
    adverse_event_codes: list[Code] = Field(default_factory=list)
    discharged_at: AwareDatetime | None = Field(None, description="When the client left, if charted later.")
    overrides: list[OverrideIn] = Field(default_factory=list, description="Doctor only: discharge criteria the last "
                                        "reading misses that this client's own baseline explains.")


class CancelIn(_Strict):
    reason: Code


class EndIn(_Strict):
    outcome: Literal["abandoned", "transferred_to_hospital"]
    reason: Code
    at: AwareDatetime | None = Field(None, description="When the session ended, if charted later.")
    adverse_event_codes: list[Code] = Field(default_factory=list)


class AdverseEventsIn(_Strict):
    adverse_event_codes: list[Code] = Field(min_length=1)


class ActOut(_Strict):
    by: str
    at: datetime
    entered_at: datetime

    @classmethod
    def of(cls, act: Act | None) -> "ActOut | None":
        return cls(by=act.by, at=act.at, entered_at=act.entered_at) if act else None


class DoseOut(_Strict):
    route: str
    mg: float
    mg_per_kg: float | None
    weight_kg: float | None
    infusion_minutes: int | None
    within_protocol: bool
    overridden: bool


class OverrideOut(_Strict):
    step: str
    rule: str
    by: str
    reason: str | None
    at: datetime


class SessionOut(_Strict):
    session_id: uuid.UUID
    course_id: uuid.UUID
    status: str
    scheduled_at: datetime
    deferral_reasons: list[str]
    overrides: list[OverrideOut]
    checked: ActOut | None
    dose: DoseOut | None
    ordered: ActOut | None
    given: ActOut | None
    witnessed: ActOut | None
    dosed_at: datetime | None
    discharged: ActOut | None
    discharged_at: datetime | None
    ended: ActOut | None
    ended_reason: str | None
    session_number: int | None
    adverse_event_codes: list[str]
    adverse_events_reviewed: ActOut | None

    @classmethod
    def of(cls, s: DosingSession) -> "SessionOut":
        d = s.dose
        dose = d and DoseOut(route=d.route, mg=d.mg, mg_per_kg=d.mg_per_kg, weight_kg=d.weight_kg,
                             infusion_minutes=d.infusion_minutes, within_protocol=d.within_protocol,
                             overridden=d.override_reason is not None or not d.within_protocol)
        return cls(
            session_id=s.id, course_id=s.course_id, status=s.status.value, scheduled_at=s.scheduled_at,
            deferral_reasons=list(s.deferral_reasons), overrides=[OverrideOut(**o.__dict__) for o in s.overrides],
            checked=ActOut.of(s.checked), dose=dose, ordered=ActOut.of(s.ordered), given=ActOut.of(s.given),
            witnessed=ActOut.of(s.witnessed), dosed_at=s.dosed_at, discharged=ActOut.of(s.discharged),
            discharged_at=s.discharged_at, ended=ActOut.of(s.ended), ended_reason=s.ended_reason,
            session_number=s.session_number, adverse_event_codes=list(s.adverse_event_codes),
            adverse_events_reviewed=ActOut.of(s.adverse_events_reviewed),
        )


class VitalsOut(_Strict):
    phase: str
    measured_at: datetime
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    respiratory_rate: int | None
    moaas: int | None
    cadss_total: int | None
    breached: list[str]
    charted_by: str | None
    entered_at: datetime | None


class SessionDetail(SessionOut):
    vitals: list[VitalsOut]


class IntegrationOut(_Strict):
    integration_id: uuid.UUID
    session_id: uuid.UUID
    opens_at: datetime
    due_by: datetime
    completed_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, i: Integration) -> "IntegrationOut":
        return cls(integration_id=i.id, session_id=i.session_id, opens_at=i.opens_at, due_by=i.due_by,
                   completed_at=i.completed_at, cancelled_at=i.cancelled_at)


class PreparationOut(_Strict):
    held: ActOut
    topics: list[str]
    safety_plan: list[str]


class ConsentOut(_Strict):
    recorded: ActOut
    form_version: str


class CourseOut(_Strict):
    course_id: uuid.UUID
    pathway_id: uuid.UUID
    status: str
    preparation: PreparationOut | None
    consent: ConsentOut | None
    safety_hold: str | None = Field(description="Why no dose may be given now, when the course is on hold.")
    planned_sessions: int
    indications: list[str]
    baseline_phq9: int | None
    latest_phq9: int | None
    started_at: datetime
    completed_at: datetime | None
    sessions: list[SessionDetail]
    integrations: list[IntegrationOut]


class BreachesOut(_Strict):
    breached: list[str]


def build_router(rules: SessionRules) -> APIRouter:
    """Sessions' routes, bound to the rule set in force."""
    router = APIRouter(tags=["sessions"])

    UoW = Annotated[service.UnitOfWork, transactional(
        lambda conn, events: service.UnitOfWork(SessionsRepository(conn), events, rules), source=service.SOURCE)]

    def act(staff: Staff, uow: service.UnitOfWork, at: datetime | None) -> Act:
        return Act(staff.id, at or uow.events.now, uow.events.now)

    @router.get("/pathways/{pathway_id}/course", response_model=CourseOut)
    async def get_course(pathway_id: uuid.UUID, uow: UoW, _staff: Annotated[Staff, Depends(TEAM)]) -> CourseOut:
        """The course: whether it is on hold, sessions with who did what and their vitals, integration, progress."""
        course = await uow.sessions.course_of_pathway(pathway_id=pathway_id)
        sessions = [await _detail(uow, s) for s in await uow.sessions.sessions_of_course(course_id=course.id)]
        integrations = [IntegrationOut.of(i) for i in await uow.sessions.integrations_of_course(course_id=course.id)]
        prep, consent = course.preparation, course.consent
        return CourseOut(
            course_id=course.id, pathway_id=course.pathway_id, status=course.status,
            preparation=prep and PreparationOut(held=ActOut.of(prep.act), topics=list(prep.topics),
                                                safety_plan=list(prep.safety_plan)),
            consent=consent and ConsentOut(recorded=ActOut.of(consent.act), form_version=consent.form_version),
            safety_hold=safety_hold(await uow.sessions.risk_findings(pathway_id=pathway_id)),
            planned_sessions=course.planned_sessions, indications=list(course.indications),
            baseline_phq9=course.baseline_phq9, latest_phq9=course.latest_phq9, started_at=course.started_at,
            completed_at=course.completed_at, sessions=sessions, integrations=integrations,
        )

    @router.post("/courses/{course_id}/preparation", status_code=204)
    async def post_preparation(
        course_id: uuid.UUID, body: PreparationIn, uow: UoW, staff: Annotated[Staff, Depends(PREPARING)]
    ) -> None:
        """The preparation session before the first dose: what was covered, the client's safety plan."""
        preparation = Preparation(act(staff, uow, body.held_at), tuple(body.topics), tuple(body.safety_plan))
        await service.record_preparation(uow, course_id, preparation)

    @router.post("/courses/{course_id}/consent", status_code=204)
    async def post_consent(
        course_id: uuid.UUID, body: ConsentIn, uow: UoW, staff: Annotated[Staff, Depends(CONSENTING)]
    ) -> None:
        """The client's written consent to the course, as signed."""
        await service.record_consent(uow, course_id, Consent(act(staff, uow, body.signed_at), body.form_version))

    @router.post("/courses/{course_id}/sessions", status_code=201, response_model=SessionOut)
    async def post_session(
        course_id: uuid.UUID, body: ScheduleIn, uow: UoW, _staff: Annotated[Staff, Depends(CARE)]
    ) -> SessionOut:
        """Schedule the course's next dosing session."""
        return SessionOut.of(await service.schedule_session(uow, course_id, scheduled_at=body.scheduled_at))

    @router.post("/sessions/{session_id}/pre-dose-check", response_model=SessionOut)
    async def post_pre_dose_check(
        session_id: uuid.UUID, body: PreDoseIn, uow: UoW, staff: Annotated[Staff, Depends(CHECKING)]
    ) -> SessionOut:
        """Vital signs, weight, escort, medicines, alcohol, fasting and pregnancy before dosing: ready, or deferred
        with every reason (checked again later, or each reason overridden by a doctor)."""
        check = PreDoseCheck(
            vitals=Vitals(body.systolic, body.diastolic, body.heart_rate, body.spo2, body.respiratory_rate),
            weight_kg=body.weight_kg, escort_confirmed=body.escort_confirmed,
            interacting_medicines_since_last=body.interacting_medicines_since_last,
            alcohol_or_drugs_last_24h=body.alcohol_or_drugs_last_24h,
            fasted_as_instructed=body.fasted_as_instructed, pregnancy_excluded=body.pregnancy_excluded,
            consent_reconfirmed=body.consent_reconfirmed,
        )
        return SessionOut.of(await service.check_before_dosing(uow, session_id, check,
                                                               act=act(staff, uow, body.measured_at)))

    @router.post("/sessions/{session_id}/overrides", response_model=SessionOut)
    async def post_override(
        session_id: uuid.UUID, body: OverrideIn, uow: UoW, staff: Annotated[Staff, Depends(DOCTOR)]
    ) -> SessionOut:
        """The doctor goes ahead despite one deferral reason, with their reason (one reason at a time)."""
        return SessionOut.of(await service.override_deferral(uow, session_id, body.rule, doctor_id=staff.id,
                                                             reason=body.reason))

    @router.post("/sessions/{session_id}/dose-order", response_model=SessionOut)
    async def post_dose_order(
        session_id: uuid.UUID, body: DoseOrderIn, uow: UoW, staff: Annotated[Staff, Depends(DOCTOR)]
    ) -> SessionOut:
        """The supervising doctor's dose (mg/kg for IV and IM, whole devices intranasal)."""
        order = DoseOrder(body.route, body.dose_mg_per_kg, body.dose_mg, body.infusion_minutes, body.override_reason)
        return SessionOut.of(await service.order_dose(uow, session_id, order, doctor_id=staff.id))

    @router.post("/sessions/{session_id}/dose", response_model=SessionOut)
    async def post_dose(
        session_id: uuid.UUID, body: DoseGivenIn, uow: UoW, staff: Annotated[Staff, Depends(CHECKING)]
    ) -> SessionOut:
        """The ordered dose was given, by the caller, at ``given_at``."""
        return SessionOut.of(await service.give_dose(uow, session_id, act=act(staff, uow, body.given_at)))

    @router.post("/sessions/{session_id}/dose/witness", response_model=SessionOut)
    async def post_witness(session_id: uuid.UUID, uow: UoW, staff: Annotated[Staff, Depends(CARE)]) -> SessionOut:
        """A second member of staff confirms the dose they saw given (a controlled drug)."""
        return SessionOut.of(await service.witness_dose(uow, session_id, act=act(staff, uow, None)))

    @router.post("/sessions/{session_id}/vitals", status_code=201, response_model=BreachesOut)
    async def post_vitals(
        session_id: uuid.UUID, body: InSessionVitalsIn, uow: UoW, staff: Annotated[Staff, Depends(CARE)]
    ) -> BreachesOut:
        """One set of readings; any breach raises an urgent alert at once."""
        vitals = Vitals(body.systolic, body.diastolic, body.heart_rate, body.spo2, body.respiratory_rate, body.moaas,
                        tuple(body.cadss) if body.cadss is not None else None)
        reading = VitalsReading(vitals, body.measured_at or uow.events.now, staff.id, uow.events.now)
        return BreachesOut(breached=await service.record_vitals(uow, session_id, reading))

    @router.post("/sessions/{session_id}/discharge", response_model=SessionOut)
    async def post_discharge(
        session_id: uuid.UUID, body: DischargeIn, uow: UoW, staff: Annotated[Staff, Depends(CARE)]
    ) -> SessionOut:
        """Discharge with the signed checklist; the integration session falls due."""
        request = DischargeRequest(
            act=act(staff, uow, body.discharged_at), checklist=DischargeChecklist(**body.checklist.model_dump()),
            adverse_event_codes=tuple(body.adverse_event_codes),
            overrides=tuple((o.rule, o.reason) for o in body.overrides), by_doctor="doctor" in staff.roles,
        )
        return SessionOut.of(await service.discharge(uow, session_id, request))

    @router.post("/sessions/{session_id}/cancel", response_model=SessionOut)
    async def post_cancel(
        session_id: uuid.UUID, body: CancelIn, uow: UoW, staff: Annotated[Staff, Depends(CARE)]
    ) -> SessionOut:
        """The session will not go ahead (before any dose)."""
        return SessionOut.of(await service.cancel_session(uow, session_id, body.reason, act=act(staff, uow, None)))

    @router.post("/sessions/{session_id}/end", response_model=SessionOut)
    async def post_end(
        session_id: uuid.UUID, body: EndIn, uow: UoW, staff: Annotated[Staff, Depends(CARE)]
    ) -> SessionOut:
        """The session ended early: abandoned after the dose, or the client transferred to hospital."""
        return SessionOut.of(await service.end_early(
            uow, session_id, SessionStatus(body.outcome), body.reason, act=act(staff, uow, body.at),
            adverse_event_codes=tuple(body.adverse_event_codes)))

    @router.post("/sessions/{session_id}/adverse-events", response_model=SessionOut)
    async def post_adverse_events(
        session_id: uuid.UUID, body: AdverseEventsIn, uow: UoW, _staff: Annotated[Staff, Depends(CARE)]
    ) -> SessionOut:
        """Adverse events noticed during or after the session; the next dose waits for a doctor's review."""
        return SessionOut.of(await service.add_adverse_events(uow, session_id, tuple(body.adverse_event_codes)))

    @router.post("/sessions/{session_id}/adverse-events/review", response_model=SessionOut)
    async def post_adverse_event_review(
        session_id: uuid.UUID, uow: UoW, staff: Annotated[Staff, Depends(DOCTOR)]
    ) -> SessionOut:
        """A doctor reviewed the session's adverse events."""
        return SessionOut.of(await service.review_adverse_events(uow, session_id, doctor_id=staff.id))

    @router.post("/integrations/{integration_id}/complete", response_model=IntegrationOut)
    async def post_integration_complete(
        integration_id: uuid.UUID, uow: UoW, staff: Annotated[Staff, Depends(THERAPIST)]
    ) -> IntegrationOut:
        """The therapist records the integration session."""
        return IntegrationOut.of(await service.complete_integration(uow, integration_id, therapist_id=staff.id))

    @router.get("/sessions/{session_id}/fhir")
    async def get_session_fhir(session_id: uuid.UUID, uow: UoW, _staff: Annotated[Staff, Depends(TEAM)]) -> dict:
        """The session as FHIR R4: Encounter, Procedure, MedicationAdministration, vital-sign Observations."""
        session = await uow.sessions.session(session_id=session_id)
        readings = [reading for _, reading, _ in await uow.sessions.vitals(session_id=session_id)]
        return session_bundle(session, readings)

    return router


async def _detail(uow: service.UnitOfWork, session: DosingSession) -> SessionDetail:
    vitals = [
        VitalsOut(phase=phase, measured_at=r.measured_at, systolic=r.vitals.systolic, diastolic=r.vitals.diastolic,
                  heart_rate=r.vitals.heart_rate, spo2=r.vitals.spo2, respiratory_rate=r.vitals.respiratory_rate,
                  moaas=r.vitals.moaas, cadss_total=r.vitals.cadss_total, breached=breached, charted_by=r.charted_by,
                  entered_at=r.entered_at)
        for phase, r, breached in await uow.sessions.vitals(session_id=session.id)
    ]
    return SessionDetail(**SessionOut.of(session).model_dump(), vitals=vitals)
