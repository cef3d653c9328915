"""Sessions' HTTP routes: the course, dosing sessions step by step, integration, and FHIR export.

No ``from __future__ import annotations`` here: FastAPI resolves the route signatures' local aliases at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clinicflow.sessions import service
from clinicflow.sessions.domain import DischargeChecklist, DosingSession, Integration, VitalsReading
from clinicflow.sessions.fhir import session_bundle
from clinicflow.sessions.monitoring import DoseOrder, PreDoseCheck, Vitals
from clinicflow.sessions.repository import SessionsRepository
from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.auth import Staff, require_roles
from clinicflow.shared.runtime import transactional

TEAM = require_roles("doctor", "nurse", "clinician", "therapist", "clinical_lead")
CARE = require_roles("doctor", "nurse", "clinician")
CHECKING = require_roles("doctor", "nurse")
DOCTOR = require_roles("doctor")
THERAPIST = require_roles("therapist")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VitalsIn(_Strict):
    systolic: int = Field(ge=40, le=300, description="mmHg")
    diastolic: int = Field(ge=20, le=200, description="mmHg")
    heart_rate: int = Field(ge=20, le=250, description="beats per minute")
    spo2: int = Field(ge=50, le=100, description="%")


class ScheduleIn(_Strict):
    scheduled_at: AwareDatetime


class PreDoseIn(VitalsIn):
    weight_kg: float = Field(gt=20, lt=400)
    escort_confirmed: bool
    interacting_medicines_since_last: bool
    override_reason: str | None = Field(None, min_length=3, max_length=2000,
                                        description="Doctor only: go ahead despite the deferral reasons.")


class DoseIn(_Strict):
    route: Literal["iv", "im", "intranasal"]
    dose_mg_per_kg: float | None = Field(None, gt=0, le=5)
    dose_mg: float | None = Field(None, gt=0, le=500)
    override_reason: str | None = Field(None, min_length=3, max_length=2000)
    given_at: AwareDatetime | None = Field(None, description="When it was given, if charted later; default now.")


class InSessionVitalsIn(VitalsIn):
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
    adverse_event_codes: list[Annotated[str, Field(pattern=r"^[a-z0-9_]{2,60}$")]] = Field(default_factory=list)


class DoseOut(_Strict):
    route: str
    mg: float
    mg_per_kg: float | None
    weight_kg: float | None
    within_protocol: bool
    overridden: bool


class SessionOut(_Strict):
    session_id: uuid.UUID
    course_id: uuid.UUID
    status: str
    scheduled_at: datetime
    deferral_reasons: list[str]
    dose: DoseOut | None
    dosed_at: datetime | None
    discharged_at: datetime | None
    session_number: int | None

    @classmethod
    def of(cls, s: DosingSession) -> "SessionOut":
        dose = None
        if s.dose is not None:
            d = s.dose
            dose = DoseOut(route=d.route, mg=d.mg, mg_per_kg=d.mg_per_kg, weight_kg=d.weight_kg,
                           within_protocol=d.within_protocol, overridden=d.override_reason is not None)
        return cls(session_id=s.id, course_id=s.course_id, status=s.status.value, scheduled_at=s.scheduled_at,
                   deferral_reasons=list(s.deferral_reasons), dose=dose, dosed_at=s.dosed_at,
                   discharged_at=s.discharged_at, session_number=s.session_number)


class VitalsOut(_Strict):
    phase: str
    measured_at: datetime
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    moaas: int | None
    cadss_total: int | None
    breached: list[str]


class SessionDetail(SessionOut):
    vitals: list[VitalsOut]


class IntegrationOut(_Strict):
    integration_id: uuid.UUID
    session_id: uuid.UUID
    opens_at: datetime
    due_by: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, i: Integration) -> "IntegrationOut":
        return cls(integration_id=i.id, session_id=i.session_id, opens_at=i.opens_at, due_by=i.due_by,
                   completed_at=i.completed_at)


class CourseOut(_Strict):
    course_id: uuid.UUID
    pathway_id: uuid.UUID
    status: str
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

    @router.get("/pathways/{pathway_id}/course", response_model=CourseOut)
    async def get_course(pathway_id: uuid.UUID, uow: UoW, _staff: Annotated[Staff, Depends(TEAM)]) -> CourseOut:
        """The course: sessions with their vitals, integration status and PHQ-9 progress."""
        course = await uow.sessions.course_of_pathway(pathway_id=pathway_id)
        sessions = [await _detail(uow, s) for s in await uow.sessions.sessions_of_course(course_id=course.id)]
        integrations = [IntegrationOut.of(i) for i in await uow.sessions.integrations_of_course(course_id=course.id)]
        return CourseOut(
            course_id=course.id, pathway_id=course.pathway_id, status=course.status,
            planned_sessions=course.planned_sessions, indications=list(course.indications),
            baseline_phq9=course.baseline_phq9, latest_phq9=course.latest_phq9, started_at=course.started_at,
            completed_at=course.completed_at, sessions=sessions, integrations=integrations,
        )

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
        """BP, HR, SpO2, weight, escort and interacting medicines before dosing; defers when the guide says so."""
        check = PreDoseCheck(
            vitals=Vitals(body.systolic, body.diastolic, body.heart_rate, body.spo2), weight_kg=body.weight_kg,
            escort_confirmed=body.escort_confirmed, interacting_medicines_since_last=body.interacting_medicines_since_last,
        )
        session = await service.check_before_dosing(uow, session_id, check, override_reason=body.override_reason,
                                                    staff=staff)
        return SessionOut.of(session)

    @router.post("/sessions/{session_id}/dose", response_model=SessionOut)
    async def post_dose(
        session_id: uuid.UUID, body: DoseIn, uow: UoW, _staff: Annotated[Staff, Depends(DOCTOR)]
    ) -> SessionOut:
        """The supervising doctor's dose (mg/kg for IV and IM, fixed mg intranasal)."""
        order = DoseOrder(body.route, body.dose_mg_per_kg, body.dose_mg, body.override_reason)
        return SessionOut.of(await service.give_dose(uow, session_id, order, given_at=body.given_at or uow.events.now))

    @router.post("/sessions/{session_id}/vitals", status_code=201, response_model=BreachesOut)
    async def post_vitals(
        session_id: uuid.UUID, body: InSessionVitalsIn, uow: UoW, _staff: Annotated[Staff, Depends(CARE)]
    ) -> BreachesOut:
        """One set of in-session readings; any breach raises an urgent alert at once."""
        vitals = Vitals(body.systolic, body.diastolic, body.heart_rate, body.spo2, body.moaas,
                        tuple(body.cadss) if body.cadss is not None else None)
        reading = VitalsReading(vitals, body.measured_at or uow.events.now)
        return BreachesOut(breached=await service.record_vitals(uow, session_id, reading))

    @router.post("/sessions/{session_id}/discharge", response_model=SessionOut)
    async def post_discharge(
        session_id: uuid.UUID, body: DischargeIn, uow: UoW, staff: Annotated[Staff, Depends(CARE)]
    ) -> SessionOut:
        """Discharge with the signed checklist; the integration session falls due."""
        request = service.Discharge(
            checklist=DischargeChecklist(**body.checklist.model_dump()),
            adverse_event_codes=tuple(body.adverse_event_codes), clinician_id=staff.id,
        )
        return SessionOut.of(await service.discharge(uow, session_id, request))

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
                  heart_rate=r.vitals.heart_rate, spo2=r.vitals.spo2, moaas=r.vitals.moaas,
                  cadss_total=r.vitals.cadss_total, breached=breached)
        for phase, r, breached in await uow.sessions.vitals(session_id=session.id)
    ]
    return SessionDetail(**SessionOut.of(session).model_dump(), vitals=vitals)
