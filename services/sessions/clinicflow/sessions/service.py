"""Sessions' use cases: load → apply the rules → save, with the events they cause, in one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from clinicflow.sessions.domain import (
    Course,
    DischargeChecklist,
    DosingSession,
    Integration,
    SessionStatus,
    VitalsReading,
    integration_after,
    progress,
)
from clinicflow.sessions.monitoring import (
    DoseOrder,
    PreDoseCheck,
    breached_thresholds,
    check_dose,
    pre_dose_deferral_reasons,
)
from clinicflow.sessions.repository import SessionsRepository
from clinicflow.sessions.rules import SessionRules
from clinicflow.shared import catalogue
from clinicflow.shared.auth import Staff
from clinicflow.shared.errors import NotFound
from clinicflow.shared.outbox import EventWriter

SOURCE = "clinicflow/sessions"


@dataclass(frozen=True)
class UnitOfWork:
    """One transaction's view of sessions."""

    sessions: SessionsRepository
    events: EventWriter
    rules: SessionRules


async def open_course(uow: UnitOfWork, pathway_id: uuid.UUID, screening: catalogue.ScreeningCompleted) -> None:
    """An eligible signed-off screening opens one course → `course.started`; other outcomes open nothing."""
    if screening.outcome != "eligible":
        return
    course = Course(
        id=uuid.uuid4(), pathway_id=pathway_id, status="active", planned_sessions=uow.rules.planned_sessions_default,
        indications=tuple(screening.indications), age_band=screening.age_band,
        baseline_phq9=screening.baseline_totals.get("phq9"), latest_phq9=None, started_at=uow.events.now,
    )
    if await uow.sessions.add_course(course=course):
        await uow.events.emit("course.started", pathway_id, catalogue.CourseStarted(
            course_id=course.id, planned_sessions=course.planned_sessions, indications=list(course.indications),
            baseline_phq9=course.baseline_phq9,
        ))


async def note_measure(uow: UnitOfWork, pathway_id: uuid.UUID, measure: catalogue.MeasureRecorded) -> None:
    """A PHQ-9 taken during the course updates its progress → `course.progress.updated`."""
    if measure.instrument != "phq9" or measure.context == "baseline":
        return
    try:
        course = await uow.sessions.course_of_pathway(pathway_id=pathway_id)
    except NotFound:
        return  # a PHQ-9 of a pathway with no course (yet): nothing to follow
    if course.baseline_phq9 is None:
        return
    course = await uow.sessions.course(course_id=course.id, for_update=True)
    await uow.sessions.save_course(course=replace(course, latest_phq9=measure.total))
    figures = progress(course.baseline_phq9, measure.total)
    await uow.events.emit("course.progress.updated", pathway_id, catalogue.CourseProgressUpdated(
        course_id=course.id, baseline_phq9=figures.baseline, latest_phq9=figures.latest,
        change_percent=figures.change_percent, response=figures.response, remission=figures.remission,
    ))


async def schedule_session(uow: UnitOfWork, course_id: uuid.UUID, *, scheduled_at: datetime) -> DosingSession:
    """Schedule the next dosing session of a course (never more than planned)."""
    course = await uow.sessions.course(course_id=course_id, for_update=True)
    going_ahead = [s for s in await uow.sessions.sessions_of_course(course_id=course_id)
                   if s.status is not SessionStatus.DEFERRED]
    course.check_room_for_session(len(going_ahead))
    session = DosingSession(id=uuid.uuid4(), course_id=course.id, pathway_id=course.pathway_id,
                            status=SessionStatus.SCHEDULED, scheduled_at=scheduled_at)
    await uow.sessions.add_session(session=session)
    return session


async def check_before_dosing(
    uow: UnitOfWork, session_id: uuid.UUID, check: PreDoseCheck, *, override_reason: str | None, staff: Staff
) -> DosingSession:
    """Record the pre-dose check; defer (→ `session.deferred`) unless all is well or the doctor overrides."""
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    course = await uow.sessions.course(course_id=session.course_id)
    reasons = pre_dose_deferral_reasons(check, age_band=course.age_band, rules=uow.rules)
    session = session.check_before_dosing(
        check, reasons, override_reason=override_reason, by_doctor="doctor" in staff.roles, rules=uow.rules
    )
    await uow.sessions.save_session(session=session)
    await uow.sessions.add_vitals(session_id=session.id, reading=VitalsReading(check.vitals, uow.events.now),
                                  phase="pre_dose", breached=[])
    if session.status is SessionStatus.DEFERRED:
        await uow.events.emit("session.deferred", session.pathway_id, catalogue.SessionDeferred(
            course_id=session.course_id, session_id=session.id, reason_codes=list(reasons),
            rule_set_version=uow.rules.version,
        ))
    return session


async def give_dose(uow: UnitOfWork, session_id: uuid.UUID, order: DoseOrder, *, given_at: datetime) -> DosingSession:
    """The supervising doctor's dose for this client: checked against the route's protocol range."""
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    course = await uow.sessions.course(course_id=session.course_id)
    earlier_doses = [s for s in await uow.sessions.sessions_of_course(course_id=course.id) if s.dose is not None]
    dose = check_dose(order, weight_kg=session.weight_kg or 0.0, age_band=course.age_band,
                      first_session=not earlier_doses, rules=uow.rules)
    session = session.give(dose, at=given_at, now=uow.events.now)
    await uow.sessions.save_session(session=session)
    return session


async def record_vitals(uow: UnitOfWork, session_id: uuid.UUID, reading: VitalsReading) -> list[str]:
    """Store a reading; any breached threshold raises `session.vitals.alerted` (urgent) at once."""
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    session.check_vitals_allowed(reading.measured_at, uow.events.now)
    breached = breached_thresholds(reading.vitals, uow.rules)
    await uow.sessions.add_vitals(session_id=session.id, reading=reading, phase="in_session", breached=breached)
    if breached:
        alert_id = uuid.uuid4()
        await uow.sessions.add_alert(alert_id=alert_id, session_id=session.id, breached=breached,
                                     rule_set_version=uow.rules.version, at=uow.events.now)
        await uow.events.emit("session.vitals.alerted", session.pathway_id, catalogue.VitalsAlerted(
            alert_id=alert_id, course_id=session.course_id, session_id=session.id, breached=breached,
            severity="urgent", rule_set_version=uow.rules.version,
        ))
    return breached


@dataclass(frozen=True)
class Discharge:
    """A discharge request."""

    checklist: DischargeChecklist
    adverse_event_codes: tuple[str, ...]
    clinician_id: str


async def discharge(uow: UnitOfWork, session_id: uuid.UUID, request: Discharge) -> DosingSession:
    """Discharge the client → `session.logged`; the integration session that follows falls due."""
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    await uow.sessions.course(course_id=session.course_id, for_update=True)  # serialises session numbering
    siblings = await uow.sessions.sessions_of_course(course_id=session.course_id)
    number = 1 + sum(s.status is SessionStatus.DISCHARGED for s in siblings)
    readings = [r for phase, r, _ in await uow.sessions.vitals(session_id=session.id) if phase == "in_session"]
    session = session.discharge(
        request.checklist, readings=readings, clinician_id=request.clinician_id, session_number=number,
        adverse_event_codes=request.adverse_event_codes, rules=uow.rules, now=uow.events.now,
    )
    await uow.sessions.save_session(session=session)
    integration = integration_after(session, uow.rules)
    await uow.sessions.add_integration(integration=integration)
    await uow.events.emit("session.logged", session.pathway_id, _logged(session, readings, uow.rules))
    if integration.opens_at <= uow.events.now:  # due at once: announce it now rather than at the scheduler's next tick
        await _announce_due(uow, [integration])
    return session


def _logged(session: DosingSession, readings: list[VitalsReading], rules: SessionRules) -> catalogue.SessionLogged:
    vitals = [r.vitals for r in readings]
    summary = catalogue.VitalsSummary(
        max_systolic=max((v.systolic for v in vitals), default=None),
        max_diastolic=max((v.diastolic for v in vitals), default=None),
        max_heart_rate=max((v.heart_rate for v in vitals), default=None),
        min_heart_rate=min((v.heart_rate for v in vitals), default=None),
        min_spo2=min((v.spo2 for v in vitals), default=None),
        readings=len(vitals),
    )
    return catalogue.SessionLogged(
        course_id=session.course_id, session_id=session.id, session_number=session.session_number,
        route=session.dose.route, dose_mg=session.dose.mg, dose_mg_per_kg=session.dose.mg_per_kg,
        monitoring_minutes=int((session.discharged_at - session.dosed_at).total_seconds() // 60),
        vitals_summary=summary,
        lowest_moaas=min((v.moaas for v in vitals if v.moaas is not None), default=None),
        peak_dissociation=max((v.cadss_total for v in vitals if v.cadss_total is not None), default=None),
        adverse_event_codes=list(session.adverse_event_codes), discharged_at=session.discharged_at,
        rule_set_version=rules.version,
    )


async def complete_integration(uow: UnitOfWork, integration_id: uuid.UUID, *, therapist_id: str) -> Integration:
    """The therapist recorded the integration → `integration.completed`; may complete the course."""
    integration = await uow.sessions.integration(integration_id=integration_id, for_update=True)
    integration = integration.complete(therapist_id=therapist_id, now=uow.events.now)
    await uow.sessions.save_completion(integration=integration)
    await uow.events.emit("integration.completed", integration.pathway_id, catalogue.IntegrationCompleted(
        integration_id=integration.id, session_id=integration.session_id, completed_by=therapist_id,
    ))
    await _complete_course_if_done(uow, integration.course_id)
    return integration


async def _complete_course_if_done(uow: UnitOfWork, course_id: uuid.UUID) -> None:
    course = await uow.sessions.course(course_id=course_id, for_update=True)
    logged = [s for s in await uow.sessions.sessions_of_course(course_id=course_id)
              if s.status is SessionStatus.DISCHARGED]
    open_integrations = [i for i in await uow.sessions.integrations_of_course(course_id=course_id)
                         if i.completed_at is None]
    done = course.complete_if_done(logged_sessions=len(logged), open_integrations=len(open_integrations), now=uow.events.now)
    if done is course:
        return
    await uow.sessions.save_course(course=done)
    has_figures = done.baseline_phq9 is not None and done.latest_phq9 is not None
    figures = progress(done.baseline_phq9, done.latest_phq9) if has_figures else None
    await uow.events.emit("course.completed", done.pathway_id, catalogue.CourseCompleted(
        course_id=done.id, sessions_completed=len(logged), baseline_phq9=done.baseline_phq9,
        final_phq9=done.latest_phq9, change_percent=figures and figures.change_percent,
        response=figures and figures.response, remission=figures and figures.remission,
    ))


async def acknowledge_alert(uow: UnitOfWork, event: catalogue.AlertAcknowledged) -> None:
    """Staff acknowledged an alert; if it is one of ours, note who and when."""
    await uow.sessions.acknowledge_alert(alert_id=event.alert_id, by=event.acknowledged_by, at=uow.events.now)


async def _announce_due(uow: UnitOfWork, integrations: list[Integration]) -> None:
    for i in integrations:
        await uow.events.emit("integration.due", i.pathway_id, catalogue.IntegrationDue(
            integration_id=i.id, session_id=i.session_id, due_by=i.due_by))
    await uow.sessions.mark_due_published(ids=[i.id for i in integrations], at=uow.events.now)


async def publish_due_integrations(uow: UnitOfWork, *, limit: int = 100) -> int:
    """Scheduler tick: `integration.due` for each window opened (and not yet announced or completed),
    `integration.overdue` for each passed; each once."""
    due = await uow.sessions.claim_due(now=uow.events.now, limit=limit)
    await _announce_due(uow, due)
    overdue = await uow.sessions.claim_overdue(now=uow.events.now, limit=limit)
    for i in overdue:
        await uow.events.emit("integration.overdue", i.pathway_id, catalogue.IntegrationOverdue(
            integration_id=i.id, session_id=i.session_id, overdue_since=i.due_by))
    await uow.sessions.mark_overdue_published(ids=[i.id for i in overdue], at=uow.events.now)
    return len(due) + len(overdue)
