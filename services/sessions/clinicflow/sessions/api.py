"""Sessions' HTTP routes: the course and its plan, each step of a dosing session, integration, outcomes (one
course's and the cohort's), and FHIR export.

Every clinical act takes the member of staff from their token and the time it happened from the body (default now;
charted late within the charting window, never in the future); the time it was entered is always now.
No ``from __future__ import annotations`` here: FastAPI resolves the route signatures' local aliases at runtime.
"""

import csv
import io
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clinicflow.sessions import care, courses, dosing_steps, integrations
from clinicflow.sessions.acts import Act
from clinicflow.sessions.course import Consent, Preparation
from clinicflow.sessions.dosing import DoseOrder
from clinicflow.sessions.dosing_session import (
    DischargeChecklist,
    DischargeRequest,
    DosingSession,
    SessionStatus,
    Supply,
    Team,
    TherapyNote,
    VitalsReading,
)
from clinicflow.sessions.fhir import course_bundle, session_bundle
from clinicflow.sessions.integration import IntegrationOutcome
from clinicflow.sessions.monitoring import PreDoseCheck, Vitals
from clinicflow.sessions.repository import SessionsRepository
from clinicflow.sessions.rules import SessionRules
from clinicflow.sessions.safety import safety_hold
from clinicflow.sessions.schemas import (
    ActOut,
    AdverseEventsIn,
    BreachesOut,
    CancelIn,
    CohortOut,
    CohortRow,
    ConsentIn,
    ConsentOut,
    CourseOut,
    DischargeIn,
    DoseGivenIn,
    DoseOrderIn,
    EndIn,
    InSessionVitalsIn,
    IntegrationOut,
    IntegrationOutcomeIn,
    MaintenanceIn,
    OverrideIn,
    PlanIn,
    PreDoseIn,
    PreparationIn,
    PreparationOut,
    ReviewIn,
    ReviewOut,
    RiskReviewIn,
    ScheduleIn,
    SessionDetail,
    SessionOut,
    StopIn,
    TeamIn,
    TherapyNoteIn,
    VitalsOut,
)
from clinicflow.sessions.unit_of_work import SOURCE, UnitOfWork
from clinicflow.shared.auth import Staff, require_roles
from clinicflow.shared.care_team import AccessRequest, CareTeamRepository, access_request, care_team_routes
from clinicflow.shared.runtime import transactional

TEAM = require_roles("doctor", "nurse", "clinician", "therapist", "clinical_lead")
CARE = require_roles("doctor", "nurse", "clinician")
CHECKING = require_roles("doctor", "nurse")
DOCTOR = require_roles("doctor")
THERAPIST = require_roles("therapist")
PREPARING = require_roles("doctor", "nurse", "clinician", "therapist")
CONSENTING = require_roles("doctor", "clinician")
COHORT = require_roles("clinical_lead", "doctor")


def build_router(rules: SessionRules) -> APIRouter:
    """Sessions' routes, bound to the rule set in force."""
    router = APIRouter(tags=["sessions"])

    UoW = Annotated[UnitOfWork, transactional(
        lambda conn, events: UnitOfWork(SessionsRepository(conn), CareTeamRepository(conn), events, rules),
        source=SOURCE)]
    Access = Annotated[AccessRequest, Depends(access_request)]

    def act(staff: Staff, uow: UnitOfWork, at: datetime | None) -> Act:
        return Act(staff.id, at or uow.events.now, uow.events.now)

    @router.get("/pathways/{pathway_id}/course", response_model=CourseOut)
    async def get_course(pathway_id: uuid.UUID, staff: Annotated[Staff, Depends(TEAM)], access: Access, uow: UoW
                         ) -> CourseOut:
        """The course: whether it is on hold, its plan and review, sessions with who did what and their vitals,
        integration, and outcomes on every instrument (the care team, or break the glass)."""
        course = await uow.sessions.course_of_pathway(pathway_id=pathway_id)
        await care.open_record(uow, pathway_id, staff_id=staff.id, request=access)
        sessions = [await _detail(uow, s) for s in await uow.sessions.sessions_of_course(course_id=course.id)]
        done = [IntegrationOut.of(i) for i in await uow.sessions.integrations_of_course(course_id=course.id)]
        prep, consent, review = course.preparation, course.consent, course.review
        progress = await courses.progress_of(uow, course)
        phq9 = progress.get("phq9")
        return CourseOut(
            course_id=course.id, pathway_id=course.pathway_id, status=course.status, phase=course.phase,
            ended_reason=course.ended_reason, stopped_by=course.stopped_by,
            preparation=prep and PreparationOut(held=ActOut.of(prep.act), topics=list(prep.topics),
                                                safety_plan=list(prep.safety_plan)),
            consent=consent and ConsentOut(recorded=ActOut.of(consent.act), form_version=consent.form_version),
            safety_hold=safety_hold(await uow.sessions.risk_findings(pathway_id=pathway_id)),
            planned_sessions=course.planned_sessions, maintenance_interval_days=course.maintenance_interval_days,
            non_response_review=review and ReviewOut(due_at=review.due_at, decided=ActOut.of(review.decided),
                                                     decision=review.decision),
            indications=list(course.indications), baseline_phq9=phq9 and phq9.baseline,
            latest_phq9=phq9 and phq9.latest, outcomes={k: courses.figures(p) for k, p in progress.items()},
            started_at=course.started_at, completed_at=course.completed_at, sessions=sessions, integrations=done,
        )

    @router.post("/courses/{course_id}/preparation", status_code=204)
    async def post_preparation(
        course_id: uuid.UUID, body: PreparationIn, staff: Annotated[Staff, Depends(PREPARING)], uow: UoW
    ) -> None:
        """The preparation session before the first dose: what was covered, the client's safety plan."""
        preparation = Preparation(act(staff, uow, body.held_at), tuple(body.topics), tuple(body.safety_plan))
        await courses.record_preparation(uow, course_id, preparation)

    @router.post("/courses/{course_id}/consent", status_code=204)
    async def post_consent(
        course_id: uuid.UUID, body: ConsentIn, staff: Annotated[Staff, Depends(CONSENTING)], uow: UoW
    ) -> None:
        """The client's written consent to the course, as signed."""
        await courses.record_consent(uow, course_id, Consent(act(staff, uow, body.signed_at), body.form_version))

    @router.post("/courses/{course_id}/plan", status_code=204)
    async def post_plan(course_id: uuid.UUID, body: PlanIn, staff: Annotated[Staff, Depends(DOCTOR)], uow: UoW
                        ) -> None:
        """The doctor plans the acute course: a number of sessions, or the planned route's default; extend up to
        the maximum, never below the sessions under way."""
        await courses.plan_course(uow, course_id, body.planned_sessions, route=body.route, doctor_id=staff.id)

    @router.post("/courses/{course_id}/maintenance", status_code=204)
    async def post_maintenance(
        course_id: uuid.UUID, body: MaintenanceIn, staff: Annotated[Staff, Depends(DOCTOR)], uow: UoW
    ) -> None:
        """A responder moves to maintenance: so many more sessions, at least so many days apart."""
        await courses.move_to_maintenance(uow, course_id, sessions=body.sessions, interval_days=body.interval_days,
                                          doctor_id=staff.id)

    @router.post("/courses/{course_id}/stop", status_code=204)
    async def post_stop(course_id: uuid.UUID, body: StopIn, staff: Annotated[Staff, Depends(DOCTOR)], uow: UoW
                        ) -> None:
        """The doctor stops the course early (coded reason); sessions not yet dosed are cancelled."""
        await courses.stop_course(uow, course_id, body.reason, doctor_id=staff.id)

    @router.post("/courses/{course_id}/review", status_code=204)
    async def post_review(course_id: uuid.UUID, body: ReviewIn, staff: Annotated[Staff, Depends(DOCTOR)], uow: UoW
                          ) -> None:
        """The doctor's decision on the non-response review that fell due."""
        await courses.record_review(uow, course_id, body.decision, doctor_id=staff.id)

    @router.get("/courses/{course_id}/fhir")
    async def get_course_fhir(course_id: uuid.UUID, staff: Annotated[Staff, Depends(TEAM)], access: Access,
                              uow: UoW) -> dict:
        """The course as FHIR R4: CarePlan, Consent, and an Observation per measure taken during the course."""
        course = await uow.sessions.course(course_id=course_id)
        await care.open_record(uow, course.pathway_id, staff_id=staff.id, request=access)
        return course_bundle(course, await uow.sessions.measures(course_id=course_id))

    @router.get("/outcomes", response_model=CohortOut)
    async def get_outcomes(request: Request, _staff: Annotated[Staff, Depends(COHORT)], uow: UoW) -> Response:
        """Cohort outcomes per instrument, rules version and how courses ended (completed or stopped): how many,
        response and remission rates, mean change. No identifier. ``Accept: text/csv`` for a spreadsheet."""
        rows = [_cohort_row(r) for r in await uow.sessions.cohort_outcomes()]
        if "text/csv" in request.headers.get("accept", ""):
            return Response(_csv(rows), media_type="text/csv",
                            headers={"Content-Disposition": 'attachment; filename="outcomes.csv"'})
        return Response(CohortOut(outcomes=rows).model_dump_json(), media_type="application/json")

    @router.post("/courses/{course_id}/sessions", status_code=201, response_model=SessionOut)
    async def post_session(
        course_id: uuid.UUID, body: ScheduleIn, _staff: Annotated[Staff, Depends(CARE)], uow: UoW
    ) -> SessionOut:
        """Schedule the course's next dosing session."""
        return SessionOut.of(await dosing_steps.schedule_session(uow, course_id, scheduled_at=body.scheduled_at))

    @router.post("/sessions/{session_id}/pre-dose-check", response_model=SessionOut)
    async def post_pre_dose_check(
        session_id: uuid.UUID, body: PreDoseIn, staff: Annotated[Staff, Depends(CHECKING)], uow: UoW
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
        return SessionOut.of(await dosing_steps.check_before_dosing(uow, session_id, check,
                                                               act=act(staff, uow, body.measured_at)))

    @router.post("/sessions/{session_id}/overrides", response_model=SessionOut)
    async def post_override(
        session_id: uuid.UUID, body: OverrideIn, staff: Annotated[Staff, Depends(DOCTOR)], uow: UoW
    ) -> SessionOut:
        """The doctor goes ahead despite one deferral reason, with their reason (one reason at a time)."""
        return SessionOut.of(await dosing_steps.override_deferral(uow, session_id, body.rule, doctor_id=staff.id,
                                                             reason=body.reason))

    @router.post("/sessions/{session_id}/dose-order", response_model=SessionOut)
    async def post_dose_order(
        session_id: uuid.UUID, body: DoseOrderIn, staff: Annotated[Staff, Depends(DOCTOR)], uow: UoW
    ) -> SessionOut:
        """The supervising doctor's dose (mg/kg for IV and IM, whole devices intranasal)."""
        order = DoseOrder(body.route, body.dose_mg_per_kg, body.dose_mg, body.infusion_minutes, body.override_reason)
        team = body.team and Team(body.team.supervising_doctor, body.team.monitoring_nurse, body.team.therapist)
        if team is not None:
            await care.join_named_team(uow, session_id, team, by=staff)
        return SessionOut.of(await dosing_steps.order_dose(uow, session_id, order, doctor_id=staff.id, team=team))

    @router.post("/sessions/{session_id}/dose", response_model=SessionOut)
    async def post_dose(
        session_id: uuid.UUID, body: DoseGivenIn, staff: Annotated[Staff, Depends(CHECKING)], uow: UoW
    ) -> SessionOut:
        """The ordered dose was given, by the caller, at ``given_at``, from the named product and batch."""
        supply = Supply(body.product, body.batch, body.volume_drawn_ml)
        return SessionOut.of(await dosing_steps.give_dose(uow, session_id, act=act(staff, uow, body.given_at),
                                                          supply=supply))

    @router.post("/sessions/{session_id}/team", response_model=SessionOut)
    async def post_team(session_id: uuid.UUID, body: TeamIn, staff: Annotated[Staff, Depends(CHECKING)], uow: UoW
                        ) -> SessionOut:
        """Who is in the room (again at a handover): needed before the dose is given. They join the client's care
        team; whoever names them must be on it."""
        team = Team(body.supervising_doctor, body.monitoring_nurse, body.therapist)
        await care.join_named_team(uow, session_id, team, by=staff)
        return SessionOut.of(await dosing_steps.name_team(uow, session_id, team))

    @router.post("/sessions/{session_id}/therapy-note", response_model=SessionOut)
    async def post_therapy_note(
        session_id: uuid.UUID, body: TherapyNoteIn, _staff: Annotated[Staff, Depends(THERAPIST)], uow: UoW
    ) -> SessionOut:
        """The therapist's coded note of the session: themes, concerns for the team."""
        note = TherapyNote(tuple(body.themes), tuple(body.concerns))
        return SessionOut.of(await dosing_steps.record_therapy_note(uow, session_id, note))

    @router.post("/sessions/{session_id}/dose/witness", response_model=SessionOut)
    async def post_witness(session_id: uuid.UUID, staff: Annotated[Staff, Depends(CARE)], uow: UoW) -> SessionOut:
        """A second member of staff confirms the dose they saw given (a controlled drug)."""
        return SessionOut.of(await dosing_steps.witness_dose(uow, session_id, act=act(staff, uow, None)))

    @router.post("/sessions/{session_id}/vitals", status_code=201, response_model=BreachesOut)
    async def post_vitals(
        session_id: uuid.UUID, body: InSessionVitalsIn, staff: Annotated[Staff, Depends(CARE)], uow: UoW
    ) -> BreachesOut:
        """One set of readings; any breach raises an urgent alert at once."""
        vitals = Vitals(body.systolic, body.diastolic, body.heart_rate, body.spo2, body.respiratory_rate, body.moaas,
                        tuple(body.cadss) if body.cadss is not None else None)
        reading = VitalsReading(vitals, body.measured_at or uow.events.now, staff.id, uow.events.now)
        return BreachesOut(breached=await dosing_steps.record_vitals(uow, session_id, reading))

    @router.post("/sessions/{session_id}/discharge", response_model=SessionOut)
    async def post_discharge(
        session_id: uuid.UUID, body: DischargeIn, staff: Annotated[Staff, Depends(CARE)], uow: UoW
    ) -> SessionOut:
        """Discharge with the signed checklist; the integration session falls due."""
        request = DischargeRequest(
            act=act(staff, uow, body.discharged_at), checklist=DischargeChecklist(**body.checklist.model_dump()),
            adverse_event_codes=tuple(body.adverse_event_codes),
            overrides=tuple((o.rule, o.reason) for o in body.overrides), by_doctor="doctor" in staff.roles,
        )
        return SessionOut.of(await dosing_steps.discharge(uow, session_id, request))

    @router.post("/sessions/{session_id}/cancel", response_model=SessionOut)
    async def post_cancel(
        session_id: uuid.UUID, body: CancelIn, staff: Annotated[Staff, Depends(CARE)], uow: UoW
    ) -> SessionOut:
        """The session will not go ahead (before any dose)."""
        return SessionOut.of(await dosing_steps.cancel_session(uow, session_id, body.reason, act=act(staff, uow, None)))

    @router.post("/sessions/{session_id}/end", response_model=SessionOut)
    async def post_end(
        session_id: uuid.UUID, body: EndIn, staff: Annotated[Staff, Depends(CARE)], uow: UoW
    ) -> SessionOut:
        """The session ended early: abandoned after the dose, or the client transferred to hospital."""
        return SessionOut.of(await dosing_steps.end_early(
            uow, session_id, SessionStatus(body.outcome), body.reason, act=act(staff, uow, body.at),
            adverse_event_codes=tuple(body.adverse_event_codes)))

    @router.post("/sessions/{session_id}/adverse-events", response_model=SessionOut)
    async def post_adverse_events(
        session_id: uuid.UUID, body: AdverseEventsIn, _staff: Annotated[Staff, Depends(CARE)], uow: UoW
    ) -> SessionOut:
        """Adverse events noticed during or after the session; the next dose waits for a doctor's review."""
        return SessionOut.of(await dosing_steps.add_adverse_events(uow, session_id, tuple(body.adverse_event_codes)))

    @router.post("/sessions/{session_id}/adverse-events/review", response_model=SessionOut)
    async def post_adverse_event_review(
        session_id: uuid.UUID, staff: Annotated[Staff, Depends(DOCTOR)], uow: UoW
    ) -> SessionOut:
        """A doctor reviewed the session's adverse events."""
        return SessionOut.of(await dosing_steps.review_adverse_events(uow, session_id, doctor_id=staff.id))

    @router.post("/integrations/{integration_id}/complete", response_model=IntegrationOut)
    async def post_integration_complete(
        integration_id: uuid.UUID, body: IntegrationOutcomeIn, staff: Annotated[Staff, Depends(THERAPIST)], uow: UoW
    ) -> IntegrationOut:
        """The therapist records the integration session: attended or not, themes, concerns, and any risk flag
        (urgent for the doctor; the next dose waits for a risk review)."""
        outcome = IntegrationOutcome(body.attended, tuple(body.themes), tuple(body.concerns), body.risk_flag)
        return IntegrationOut.of(await integrations.complete_integration(uow, integration_id, outcome,
                                                                         therapist_id=staff.id))

    @router.post("/integrations/{integration_id}/risk-review", response_model=IntegrationOut)
    async def post_integration_risk_review(
        integration_id: uuid.UUID, body: RiskReviewIn, staff: Annotated[Staff, Depends(DOCTOR)], uow: UoW
    ) -> IntegrationOut:
        """A doctor's review of the risk flagged at integration: low or moderate releases the hold."""
        return IntegrationOut.of(await integrations.review_integration_risk(uow, integration_id, body.risk_level,
                                                                            doctor_id=staff.id))

    @router.get("/sessions/{session_id}/fhir")
    async def get_session_fhir(session_id: uuid.UUID, staff: Annotated[Staff, Depends(TEAM)], access: Access,
                               uow: UoW) -> dict:
        """The session as FHIR R4: Encounter, Procedure, MedicationAdministration, vital-sign Observations."""
        session = await uow.sessions.session(session_id=session_id)
        await care.open_record(uow, session.pathway_id, staff_id=staff.id, request=access)
        readings = [charted.reading for charted in await uow.sessions.vitals(session_id=session_id)]
        return session_bundle(session, readings)

    router.include_router(care_team_routes(
        UoW, record_exists=lambda uow, pathway_id: uow.sessions.course_of_pathway(pathway_id=pathway_id),
        record="course"))
    return router


def _cohort_row(r) -> CohortRow:  # noqa: ANN001 - an asyncpg record
    def rate(count: int) -> float | None:
        return round(count / r["assessable"], 3) if r["assessable"] else None

    return CohortRow(instrument=r["instrument"], rule_set_version=r["rule_set_version"], ended_as=r["ended_as"],
                     courses=r["courses"], assessable=r["assessable"], responders=r["responders"],
                     remitters=r["remitters"], response_rate=rate(r["responders"]),
                     remission_rate=rate(r["remitters"]), mean_change=round(r["mean_change"], 2))


def _csv(rows: list[CohortRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CohortRow.model_fields), lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.model_dump() for row in rows)
    return out.getvalue()


async def _detail(uow: UnitOfWork, session: DosingSession) -> SessionDetail:
    vitals = [
        VitalsOut(phase=c.phase, measured_at=c.reading.measured_at, systolic=c.reading.vitals.systolic,
                  diastolic=c.reading.vitals.diastolic, heart_rate=c.reading.vitals.heart_rate,
                  spo2=c.reading.vitals.spo2, respiratory_rate=c.reading.vitals.respiratory_rate,
                  moaas=c.reading.vitals.moaas, cadss_total=c.reading.vitals.cadss_total, breached=list(c.breached),
                  charted_by=c.reading.charted_by, entered_at=c.reading.entered_at)
        for c in await uow.sessions.vitals(session_id=session.id)
    ]
    return SessionDetail(**SessionOut.of(session).model_dump(), vitals=vitals)
