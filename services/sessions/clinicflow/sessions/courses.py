"""Course use cases (docs/clinical-rules.md §4–5): open from screening, preparation and consent, the plan a doctor
changes, stops or reviews, outcomes on every instrument as measures arrive, and completion."""

from __future__ import annotations

import uuid
from datetime import datetime

from clinicflow.sessions.acts import Act
from clinicflow.sessions.course import Consent, Course, Preparation
from clinicflow.sessions.dosing_session import BEFORE_DOSE, NOT_COUNTED, DosingSession, SessionStatus
from clinicflow.sessions.outcomes import (
    CourseMeasure,
    InstrumentProgress,
    course_progress,
    deterioration,
    non_response_review_due,
)
from clinicflow.sessions.safety import RiskFinding
from clinicflow.sessions.unit_of_work import UnitOfWork
from clinicflow.shared import catalogue
from clinicflow.shared.errors import NotFound


async def open_course(uow: UnitOfWork, pathway_id: uuid.UUID, screening: catalogue.ScreeningCompleted) -> None:
    """An eligible signed-off screening opens one course with its baselines → `course.started`; other outcomes open
    nothing."""
    if screening.outcome != "eligible":
        return
    course = Course(
        id=uuid.uuid4(), pathway_id=pathway_id, status="active", planned_sessions=uow.rules.planned_sessions.default,
        indications=tuple(screening.indications), age_band=screening.age_band,
        baselines=dict(screening.baseline_totals), started_at=uow.events.now,
    )
    if await uow.sessions.add_course(course=course):
        await uow.events.emit(pathway_id, catalogue.CourseStarted(
            course_id=course.id, planned_sessions=course.planned_sessions, indications=list(course.indications),
            baseline_phq9=course.baselines.get("phq9"),
        ))


async def note_measure(uow: UnitOfWork, pathway_id: uuid.UUID, measure: catalogue.MeasureRecorded,
                       *, measured_at: datetime) -> None:
    """A measure taken during an active course joins its instrument's trajectory → `course.progress.updated`;
    deterioration → `course.deteriorated` (urgent for the team); after session 4 without a 25 % fall in PHQ-9 →
    `course.review.due` (once)."""
    if measure.context == "baseline":
        return
    try:
        course = await uow.sessions.course_of_pathway(pathway_id=pathway_id)
    except NotFound:
        return  # a measure of a pathway with no course (yet): nothing to follow
    course = await uow.sessions.course(course_id=course.id, for_update=True)
    if course.status != "active" or measure.instrument not in course.baselines:
        return
    logged = sum(s.session_number is not None for s in await uow.sessions.sessions_of_course(course_id=course.id))
    kept = CourseMeasure(measure.measure_id, measure.instrument, measure.total, measured_at, logged)
    if not await uow.sessions.add_measure(course_id=course.id, measure=kept):
        return
    progress = await progress_of(uow, course)
    await _emit_progress(uow, course, progress, measure.instrument)
    changed = progress[measure.instrument]
    if deterioration(changed, uow.rules.outcomes):
        await uow.events.emit(pathway_id, catalogue.CourseDeteriorated(
            alert_id=uuid.uuid4(), course_id=course.id, instrument=changed.instrument, baseline=changed.baseline,
            latest=changed.latest, measure_id=measure.measure_id, rule_set_version=uow.rules.version,
        ))
    phq9 = progress.get("phq9")
    if course.review is None and phq9 is not None and non_response_review_due(phq9, uow.rules.outcomes):
        await uow.sessions.save_course(course=course.review_falls_due(uow.events.now))
        await uow.events.emit(pathway_id, catalogue.CourseReviewDue(
            course_id=course.id, reason="non_response", after_session=logged,
            phq9_change_percent=phq9.change_percent, rule_set_version=uow.rules.version,
        ))


def figures(progress: InstrumentProgress) -> catalogue.InstrumentFigures:
    """One instrument's figures as events and the API carry them."""
    return catalogue.InstrumentFigures(
        baseline=progress.baseline, latest=progress.latest, change_percent=progress.change_percent,
        response=progress.response, remission=progress.remission,
        trajectory=[catalogue.TrajectoryPoint(total=m.total, measured_at=m.measured_at, after_session=m.after_session)
                    for m in progress.trajectory],
    )


async def _emit_progress(uow: UnitOfWork, course: Course, progress: dict[str, InstrumentProgress], instrument: str
                         ) -> None:
    phq9 = progress.get("phq9")
    if phq9 is None:
        return  # sign-off requires a PHQ-9 baseline; a course without one has no figures to report
    await uow.events.emit(course.pathway_id, catalogue.CourseProgressUpdated(
        course_id=course.id, baseline_phq9=phq9.baseline, latest_phq9=phq9.latest,
        change_percent=phq9.change_percent, response=phq9.response, remission=phq9.remission,
        instrument=instrument, instruments={name: figures(p) for name, p in progress.items()},
        rule_set_version=uow.rules.version,
    ))


async def note_risk_finding(uow: UnitOfWork, event_id: uuid.UUID, pathway_id: uuid.UUID, finding: RiskFinding) -> None:
    """Keep screening's safety flag or risk review; the pathway's hold follows from all of them, course or not."""
    await uow.sessions.add_risk_finding(event_id=event_id, pathway_id=pathway_id, finding=finding)


async def end_course_for_enquiry(uow: UnitOfWork, pathway_id: uuid.UUID, *, reason: str, erase: bool) -> None:
    """The enquiry was closed or erased: the course is withdrawn, sessions not yet dosed are cancelled, integration
    notices stop; erasure also removes free text while the coded history stays."""
    try:
        course = await uow.sessions.course_of_pathway(pathway_id=pathway_id)
    except NotFound:
        return
    course = await uow.sessions.course(course_id=course.id, for_update=True)
    await uow.sessions.save_course(course=course.withdraw(reason, now=uow.events.now))
    await _cancel_sessions_not_dosed(uow, course, f"course_withdrawn_{reason}")
    await uow.sessions.cancel_open_integrations(course_id=course.id, at=uow.events.now)
    if erase:
        await uow.sessions.erase_free_text(course_id=course.id)


async def _cancel_sessions_not_dosed(uow: UnitOfWork, course: Course, reason: str) -> None:
    act = Act("system", uow.events.now, uow.events.now)
    for session in await uow.sessions.sessions_of_course(course_id=course.id):
        if session.status in BEFORE_DOSE:
            await uow.sessions.save_session(session=session.cancel(reason, act=act))


async def record_preparation(uow: UnitOfWork, course_id: uuid.UUID, preparation: Preparation) -> Course:
    """The preparation session before the first dose: what was covered and the client's safety plan (coded)."""
    course = (await uow.sessions.course(course_id=course_id, for_update=True)).prepare(preparation, rules=uow.rules)
    await uow.sessions.save_course(course=course)
    return course


async def record_consent(uow: UnitOfWork, course_id: uuid.UUID, consent: Consent) -> Course:
    """The client's written consent to the course."""
    course = await uow.sessions.course(course_id=course_id, for_update=True)
    course = course.record_consent(consent, rules=uow.rules)
    await uow.sessions.save_course(course=course)
    return course


def sessions_counted(sessions: list[DosingSession]) -> int:
    """Sessions that count against the plan: going ahead or done (one that ended early is replaced)."""
    return sum(s.status not in NOT_COUNTED for s in sessions)


async def plan_course(uow: UnitOfWork, course_id: uuid.UUID, planned_sessions: int | None, *, route: str | None,
                      doctor_id: str) -> Course:
    """A doctor sets how many sessions the acute course plans (the route's default when none is given)
    → `course.plan.changed`."""
    course = await uow.sessions.course(course_id=course_id, for_update=True)
    plans = uow.rules.planned_sessions
    planned = planned_sessions or plans.by_route.get(route or "", plans.default)
    counted = sessions_counted(await uow.sessions.sessions_of_course(course_id=course_id))
    course = course.plan(planned, counted=counted, rules=uow.rules)
    await _save_plan(uow, course, "planned", doctor_id, reason=route and f"route_{route}")
    return course


async def move_to_maintenance(uow: UnitOfWork, course_id: uuid.UUID, *, sessions: int, interval_days: int,
                              doctor_id: str) -> Course:
    """A responder's remaining sessions become maintenance sessions at a longer interval → `course.plan.changed`."""
    course = await uow.sessions.course(course_id=course_id, for_update=True)
    counted = sessions_counted(await uow.sessions.sessions_of_course(course_id=course_id))
    responder = any(p.response for p in (await progress_of(uow, course)).values())
    course = course.move_to_maintenance(sessions, interval_days, counted=counted, responder=responder,
                                        rules=uow.rules)
    await _save_plan(uow, course, "maintenance", doctor_id, reason=None)
    return course


async def _save_plan(uow: UnitOfWork, course: Course, change: str, doctor_id: str, *, reason: str | None) -> None:
    await uow.sessions.save_course(course=course)
    await uow.sessions.add_plan_change(course=course, change=change, reason=reason, by=doctor_id,
                                       rule_set_version=uow.rules.version, at=uow.events.now)
    await uow.events.emit(course.pathway_id, catalogue.CoursePlanChanged(
        course_id=course.id, change=change, planned_sessions=course.planned_sessions, phase=course.phase,
        maintenance_interval_days=course.maintenance_interval_days, changed_by=doctor_id,
        rule_set_version=uow.rules.version,
    ))


async def stop_course(uow: UnitOfWork, course_id: uuid.UUID, reason: str, *, doctor_id: str) -> Course:
    """A doctor stops the course early (coded reason): sessions not yet dosed are cancelled; integration after a
    dose already given still falls due → `course.stopped`."""
    course = await uow.sessions.course(course_id=course_id, for_update=True)
    course = course.stop(reason, by=doctor_id, now=uow.events.now, rules=uow.rules)
    await uow.sessions.save_course(course=course)
    await uow.sessions.add_plan_change(course=course, change="stopped", reason=reason, by=doctor_id,
                                       rule_set_version=uow.rules.version, at=uow.events.now)
    await _cancel_sessions_not_dosed(uow, course, "course_stopped")
    sessions = await uow.sessions.sessions_of_course(course_id=course_id)
    logged = sum(s.status is SessionStatus.DISCHARGED for s in sessions)
    await _keep_outcomes(uow, course)
    await uow.events.emit(course.pathway_id, catalogue.CourseStopped(
        course_id=course.id, reason=reason, sessions_completed=logged, stopped_by=doctor_id,
        rule_set_version=uow.rules.version,
    ))
    return course


async def record_review(uow: UnitOfWork, course_id: uuid.UUID, decision: str, *, doctor_id: str) -> Course:
    """A doctor's decision on the non-response review that fell due."""
    course = await uow.sessions.course(course_id=course_id, for_update=True)
    course = course.record_review(decision, act=Act(doctor_id, uow.events.now, uow.events.now), rules=uow.rules)
    await uow.sessions.save_course(course=course)
    return course


async def complete_course_if_done(uow: UnitOfWork, course_id: uuid.UUID) -> None:
    """Completed once every planned session is logged and every integration recorded → `course.completed` with the
    final figures on every instrument."""
    course = await uow.sessions.course(course_id=course_id, for_update=True)
    logged = [s for s in await uow.sessions.sessions_of_course(course_id=course_id)
              if s.status is SessionStatus.DISCHARGED]
    open_integrations = [i for i in await uow.sessions.integrations_of_course(course_id=course_id)
                         if i.completed_at is None and i.cancelled_at is None]
    done = course.complete_if_done(logged_sessions=len(logged), open_integrations=len(open_integrations),
                                   now=uow.events.now)
    if done is course:
        return
    await uow.sessions.save_course(course=done)
    progress = await _keep_outcomes(uow, done)
    phq9 = progress.get("phq9")
    await uow.events.emit(done.pathway_id, catalogue.CourseCompleted(
        course_id=done.id, sessions_completed=len(logged), baseline_phq9=phq9 and phq9.baseline,
        final_phq9=phq9 and phq9.latest, change_percent=phq9 and phq9.change_percent,
        response=phq9 and phq9.response, remission=phq9 and phq9.remission,
        instruments={name: figures(p) for name, p in progress.items()},
    ))


async def _keep_outcomes(uow: UnitOfWork, course: Course) -> dict[str, InstrumentProgress]:
    progress = await progress_of(uow, course)
    await uow.sessions.add_outcomes(course=course, progress=list(progress.values()), rule_set_version=uow.rules.version)
    return progress


async def progress_of(uow: UnitOfWork, course: Course) -> dict[str, InstrumentProgress]:
    """The course's figures on every instrument, now."""
    return course_progress(course.baselines, await uow.sessions.measures(course_id=course.id), uow.rules.outcomes)
