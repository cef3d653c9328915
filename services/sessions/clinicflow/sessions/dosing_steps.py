"""Dosing-session use cases (docs/clinical-rules.md §4): load → apply the rules → save, with the events they cause,
in one unit of work."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

from clinicflow.sessions import care
from clinicflow.sessions.acts import Act, check_codes
from clinicflow.sessions.courses import sessions_counted
from clinicflow.sessions.dosing import DoseHistory, DoseOrder, check_dose
from clinicflow.sessions.dosing_session import (
    AFTER_DOSE,
    DischargeRequest,
    DosingSession,
    Override,
    SessionStatus,
    Supply,
    Team,
    TherapyNote,
    VitalsReading,
    check_therapy_codes,
)
from clinicflow.sessions.integration import integration_after
from clinicflow.sessions.integrations import announce_due
from clinicflow.sessions.monitoring import PreDoseCheck, Standing, breached_thresholds, pre_dose_deferral_reasons
from clinicflow.sessions.rules import SessionRules
from clinicflow.sessions.safety import dose_conflict, safety_hold
from clinicflow.sessions.unit_of_work import UnitOfWork
from clinicflow.shared import catalogue
from clinicflow.shared.errors import IllegalMove, InvalidField


async def schedule_session(uow: UnitOfWork, course_id: uuid.UUID, *, scheduled_at: datetime) -> DosingSession:
    """Schedule the course's next dosing session: never more than planned, never beside another session."""
    course = await uow.sessions.course(course_id=course_id, for_update=True)
    siblings = await uow.sessions.sessions_of_course(course_id=course_id)
    course.check_room_for_session(sessions_counted(siblings))
    if scheduled_at < uow.events.now - timedelta(hours=uow.rules.charting_window_hours):
        raise InvalidField("scheduled_at", "too_old", "a session cannot be scheduled that far in the past")
    nearby = [s.dosed_at or s.scheduled_at for s in siblings
              if s.status not in (SessionStatus.DEFERRED, SessionStatus.CANCELLED)]
    conflict = dose_conflict(scheduled_at, nearby, zone=uow.rules.zone,
                             minimum_hours=uow.rules.minimum_hours_between_doses)
    if conflict:
        raise IllegalMove(f"cannot schedule the session there: {conflict}")
    course.check_maintenance_interval(scheduled_at, nearby)
    session = DosingSession(id=uuid.uuid4(), course_id=course.id, pathway_id=course.pathway_id,
                            status=SessionStatus.SCHEDULED, scheduled_at=scheduled_at)
    await uow.sessions.add_session(session=session)
    return session


async def check_before_dosing(uow: UnitOfWork, session_id: uuid.UUID, check: PreDoseCheck, *, act: Act
                              ) -> DosingSession:
    """Record the pre-dose check → ready, or deferred (`session.deferred`); a reading beyond the alarm limits is also
    an urgent `session.vitals.alerted` at once."""
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    course = await uow.sessions.course(course_id=session.course_id, for_update=True)
    course.require_active()
    siblings = [s for s in await uow.sessions.sessions_of_course(course_id=course.id) if s.id != session.id]
    unfinished = [s for s in siblings if s.status in (SessionStatus.READY, SessionStatus.DOSED)]
    if unfinished:
        raise IllegalMove("cannot check this session: an earlier session of the course is not yet discharged or ended")
    prepared, consented = course.ready_for_a_dose_checked_at(act.at)
    standing = Standing(
        prepared=prepared, consented=consented,
        safety_hold=safety_hold(await uow.sessions.risk_findings(pathway_id=session.pathway_id)) is not None,
        unreviewed_adverse_event=any(s.unreviewed_adverse_event for s in siblings),
    )
    reasons = pre_dose_deferral_reasons(check, age_band=course.age_band, standing=standing, rules=uow.rules)
    session = session.check_before_dosing(check, reasons, act=act, rules=uow.rules)
    await uow.sessions.save_session(session=session)
    reading = VitalsReading(check.vitals, act.at, act.by, act.entered_at)
    await _record_reading(uow, session, reading, phase="pre_dose")
    if session.status is SessionStatus.DEFERRED:
        await uow.events.emit(session.pathway_id, catalogue.SessionDeferred(
            course_id=session.course_id, session_id=session.id, reason_codes=list(reasons),
            rule_set_version=uow.rules.version,
        ))
    return session


async def override_deferral(uow: UnitOfWork, session_id: uuid.UUID, rule: str, *, doctor_id: str, reason: str
                            ) -> DosingSession:
    """A doctor goes ahead despite one deferral reason → `session.overridden`."""
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    session = replace(session, overrides=await uow.sessions.overrides(session_id=session.id))
    session, override = session.override_deferral(rule, by=doctor_id, reason=reason, now=uow.events.now)
    await uow.sessions.save_session(session=session)
    await _record_override(uow, session, override)
    return session


async def order_dose(uow: UnitOfWork, session_id: uuid.UUID, order: DoseOrder, *, doctor_id: str,
                     team: Team | None = None) -> DosingSession:
    """The supervising doctor orders this client's dose: refused while the course is on hold or an adverse event
    waits for review; outside the protocol only with a reason (→ `session.overridden`), never past the hard maximum."""
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    course = await uow.sessions.course(course_id=session.course_id)
    course.require_active()
    siblings = [s for s in await uow.sessions.sessions_of_course(course_id=course.id) if s.id != session.id]
    await _refuse_when_held(uow, session, siblings)
    earlier = sorted((s for s in siblings if s.given is not None), key=lambda s: s.dosed_at)
    nasal = [s.dose.mg for s in earlier if s.dose.route == "intranasal"]
    history = DoseHistory(first=not earlier, last_intranasal_mg=nasal[-1] if nasal else None)
    dose = check_dose(order, weight_kg=session.weight_kg or 0.0, age_band=course.age_band, history=history,
                      rules=uow.rules)
    if team is not None:
        session = session.name_team(team)
    session = session.order_dose(dose, act=Act(doctor_id, uow.events.now, uow.events.now))
    await uow.sessions.save_session(session=session)
    if not dose.within_protocol:
        await _record_override(uow, session, Override("dose", "dose_outside_protocol", doctor_id,
                                                      dose.override_reason, uow.events.now))
    return session


async def give_dose(uow: UnitOfWork, session_id: uuid.UUID, *, act: Act, supply: Supply) -> DosingSession:
    """The dose was given (by ``act.by``, from ``supply``): after its check, never beside another dose of the
    course."""
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    course = await uow.sessions.course(course_id=session.course_id, for_update=True)
    course.require_active()
    siblings = [s for s in await uow.sessions.sessions_of_course(course_id=course.id) if s.id != session.id]
    await _refuse_when_held(uow, session, siblings)
    conflict = dose_conflict(act.at, [s.dosed_at for s in siblings if s.dosed_at is not None], zone=uow.rules.zone,
                             minimum_hours=uow.rules.minimum_hours_between_doses)
    if conflict:
        raise IllegalMove(f"cannot record this dose: {conflict}")
    session = session.give(act=act, supply=supply, rules=uow.rules)
    await uow.sessions.save_session(session=session)
    return session


async def _refuse_when_held(uow: UnitOfWork, session: DosingSession, siblings: list[DosingSession]) -> None:
    hold = safety_hold(await uow.sessions.risk_findings(pathway_id=session.pathway_id))
    if hold:
        raise IllegalMove(f"the course is on a safety hold: {hold}")
    if any(s.unreviewed_adverse_event for s in siblings):
        raise IllegalMove("an adverse event in an earlier session must be reviewed by a doctor before the next dose")


async def name_team(uow: UnitOfWork, session_id: uuid.UUID, team: Team) -> DosingSession:
    """Who is in the room: the supervising doctor, the nurse monitoring, the therapist."""
    session = (await uow.sessions.session(session_id=session_id, for_update=True)).name_team(team)
    await uow.sessions.save_session(session=session)
    return session


async def record_therapy_note(uow: UnitOfWork, session_id: uuid.UUID, note: TherapyNote) -> DosingSession:
    """The therapist's coded note of the session: themes, and concerns for the team."""
    check_therapy_codes(note.themes, note.concerns, uow.rules)
    session = (await uow.sessions.session(session_id=session_id, for_update=True)).record_therapy_note(note)
    await uow.sessions.save_session(session=session)
    return session


async def witness_dose(uow: UnitOfWork, session_id: uuid.UUID, *, act: Act) -> DosingSession:
    """A second member of staff confirms the dose they saw given: the administration is complete, and goes to the
    controlled-drugs register (`session.dose.administered`)."""
    session = (await uow.sessions.session(session_id=session_id, for_update=True)).witness(act=act)
    await uow.sessions.save_session(session=session)
    await uow.events.emit(session.pathway_id, _administered(session))
    return session


async def record_vitals(uow: UnitOfWork, session_id: uuid.UUID, reading: VitalsReading) -> list[str]:
    """Store a reading; any breached alarm limit raises `session.vitals.alerted` (urgent) at once."""
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    session.check_reading_time(reading.measured_at, now=uow.events.now, rules=uow.rules)
    return await _record_reading(uow, session, reading, phase="in_session")


async def _record_reading(uow: UnitOfWork, session: DosingSession, reading: VitalsReading, *, phase: str) -> list[str]:
    breached = breached_thresholds(reading.vitals, uow.rules)
    await uow.sessions.add_vitals(session_id=session.id, reading=reading, phase=phase, breached=breached)
    if breached:
        alert_id = uuid.uuid4()
        await uow.sessions.add_alert(alert_id=alert_id, session_id=session.id, breached=breached,
                                     rule_set_version=uow.rules.version, at=uow.events.now)
        await uow.events.emit(session.pathway_id, catalogue.VitalsAlerted(
            alert_id=alert_id, course_id=session.course_id, session_id=session.id, breached=breached,
            severity="urgent", rule_set_version=uow.rules.version,
        ))
    return breached


async def discharge(uow: UnitOfWork, session_id: uuid.UUID, request: DischargeRequest) -> DosingSession:
    """Discharge the client → `session.logged` (and `session.overridden` for each criterion a doctor overrode);
    the integration session that follows falls due."""
    check_adverse_event_codes(request.adverse_event_codes, uow.rules)
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    await uow.sessions.course(course_id=session.course_id, for_update=True)  # serialises session numbering
    siblings = await uow.sessions.sessions_of_course(course_id=session.course_id)
    session = next(s for s in siblings if s.id == session.id)
    readings = [c.reading for c in await uow.sessions.vitals(session_id=session.id) if c.phase == "in_session"]
    session, overrides = session.discharge(request, readings=readings, session_number=_next_number(siblings),
                                           rules=uow.rules)
    await uow.sessions.save_session(session=session)
    for override in overrides:
        await _record_override(uow, session, override)
    integration = integration_after(session, uow.rules)
    await uow.sessions.add_integration(integration=integration)
    await uow.events.emit(session.pathway_id, _logged(session, readings, uow.rules))
    if integration.opens_at <= uow.events.now:  # due at once: announce it now rather than at the scheduler's next tick
        await announce_due(uow, [integration])
    return session


def _next_number(siblings: list[DosingSession]) -> int:
    """Sessions are numbered in the order they ended after a dose."""
    return 1 + sum(s.status in AFTER_DOSE and s.status is not SessionStatus.DOSED for s in siblings)


def check_adverse_event_codes(codes: tuple[str, ...], rules: SessionRules) -> None:
    """Adverse events are coded from the rule file's list."""
    check_codes("adverse_event_codes", codes, rules.adverse_event_codes)


async def cancel_session(uow: UnitOfWork, session_id: uuid.UUID, reason: str, *, act: Act) -> DosingSession:
    """The session will not go ahead (before any dose)."""
    session = (await uow.sessions.session(session_id=session_id, for_update=True)).cancel(reason, act=act)
    await uow.sessions.save_session(session=session)
    return session


async def end_early(uow: UnitOfWork, session_id: uuid.UUID, status: SessionStatus, reason: str, *, act: Act,
                    adverse_event_codes: tuple[str, ...]) -> DosingSession:
    """Abandoned after the dose, or transferred to hospital; a dosed session is logged (`session.logged`, ended
    early, which the care team and clinical lead are told about)."""
    check_adverse_event_codes(adverse_event_codes, uow.rules)
    session = await uow.sessions.session(session_id=session_id, for_update=True)
    await uow.sessions.course(course_id=session.course_id, for_update=True)
    siblings = await uow.sessions.sessions_of_course(course_id=session.course_id)
    dosed = session.given is not None
    session = session.end_early(status, reason, act=act, adverse_event_codes=adverse_event_codes, rules=uow.rules)
    if dosed:
        session = replace(session, session_number=_next_number(siblings))
    await uow.sessions.save_session(session=session)
    if dosed:
        readings = [c.reading for c in await uow.sessions.vitals(session_id=session.id) if c.phase == "in_session"]
        await uow.events.emit(session.pathway_id, _logged(session, readings, uow.rules))
        if session.witnessed is None:  # the drug was given all the same: the register must have it (unwitnessed)
            await uow.events.emit(session.pathway_id, _administered(session))
    return session


async def add_adverse_events(uow: UnitOfWork, session_id: uuid.UUID, codes: tuple[str, ...]) -> DosingSession:
    """Adverse events noticed during or after a session; the next dose waits for a doctor's review."""
    check_adverse_event_codes(codes, uow.rules)
    session = (await uow.sessions.session(session_id=session_id, for_update=True)).add_adverse_events(codes)
    await uow.sessions.save_session(session=session)
    return session


async def review_adverse_events(uow: UnitOfWork, session_id: uuid.UUID, *, doctor_id: str) -> DosingSession:
    """A doctor reviewed a session's adverse events."""
    act = Act(doctor_id, uow.events.now, uow.events.now)
    session = (await uow.sessions.session(session_id=session_id, for_update=True)).review_adverse_events(act=act)
    await uow.sessions.save_session(session=session)
    return session


async def _record_override(uow: UnitOfWork, session: DosingSession, override: Override) -> None:
    await uow.sessions.add_override(session_id=session.id, override=override, rule_set_version=uow.rules.version)
    await uow.events.emit(session.pathway_id, catalogue.SessionOverridden(
        course_id=session.course_id, session_id=session.id, step=override.step, rule=override.rule,
        overridden_by=override.by, rule_set_version=uow.rules.version,
    ))


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
    left = session.discharged or session.ended
    return catalogue.SessionLogged(
        course_id=session.course_id, session_id=session.id, session_number=session.session_number,
        route=session.dose.route, dose_mg=session.dose.mg, dose_mg_per_kg=session.dose.mg_per_kg,
        monitoring_minutes=int((left.at - session.dosed_at).total_seconds() // 60),
        vitals_summary=summary,
        lowest_moaas=min((v.moaas for v in vitals if v.moaas is not None), default=None),
        peak_dissociation=max((v.cadss_total for v in vitals if v.cadss_total is not None), default=None),
        adverse_event_codes=list(session.adverse_event_codes), discharged_at=left.at, rule_set_version=rules.version,
        outcome=session.status.value, ended_early=session.status is not SessionStatus.DISCHARGED,
        dosed_at=session.dosed_at, infusion_minutes=session.dose.infusion_minutes, ordered_by=session.ordered.by,
        given_by=session.given.by, witnessed_by=session.witnessed.by if session.witnessed else None,
        supervising_doctor=session.team.supervising_doctor, monitoring_nurse=session.team.monitoring_nurse,
        therapist=session.team.therapist,
    )


def _administered(session: DosingSession) -> catalogue.DoseAdministered:
    supply, witnessed = session.supply, session.witnessed
    return catalogue.DoseAdministered(
        course_id=session.course_id, session_id=session.id, route=session.dose.route, product=supply.product,
        batch=supply.batch, amount_mg=session.dose.mg, volume_drawn_ml=supply.volume_drawn_ml,
        given_by=session.given.by, given_at=session.given.at, witnessed_by=witnessed and witnessed.by,
        witnessed_at=witnessed and witnessed.at,
    )


async def acknowledge_alert(uow: UnitOfWork, pathway_id: uuid.UUID, event: catalogue.AlertAcknowledged) -> None:
    """Staff acknowledged an alert; if it is one of ours, note who and when, and put them on the client's care team
    (they have to look at the chart)."""
    if await uow.sessions.acknowledge_alert(alert_id=event.alert_id, by=event.acknowledged_by, at=uow.events.now):
        await care.join_on_acknowledging(uow, pathway_id, event.acknowledged_by)
