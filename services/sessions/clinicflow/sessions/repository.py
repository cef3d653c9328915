"""Sessions' SQL: courses (their plan changes, measures and outcomes), dosing sessions, vitals, overrides, alerts, risk
findings and integrations, on the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from clinicflow.sessions.acts import Act
from clinicflow.sessions.course import Consent, Course, Preparation, Review
from clinicflow.sessions.dosing import Dose
from clinicflow.sessions.dosing_session import (
    ChartedReading,
    DosingSession,
    Override,
    SessionStatus,
    Supply,
    Team,
    TherapyNote,
    VitalsReading,
)
from clinicflow.sessions.integration import Integration, IntegrationOutcome
from clinicflow.sessions.monitoring import Vitals
from clinicflow.sessions.outcomes import CourseMeasure, InstrumentProgress
from clinicflow.sessions.safety import RiskFinding
from clinicflow.shared.errors import NotFound

_ADD_COURSE = """
INSERT INTO courses (id, pathway_id, status, planned_sessions, indications, age_band, baselines, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (pathway_id) DO NOTHING RETURNING id"""
_COURSE_BY_ID = "SELECT * FROM courses WHERE id = $1"
_COURSE_BY_PATHWAY = "SELECT * FROM courses WHERE pathway_id = $1"
_LOCK_COURSE = "SELECT * FROM courses WHERE id = $1 FOR UPDATE"
_SAVE_COURSE = """
UPDATE courses SET status = $2, planned_sessions = $3, completed_at = $4, ended_reason = $5,
       prepared_by = $6, prepared_at = $7, preparation_entered_at = $8, preparation_topics = $9, safety_plan = $10,
       consent_recorded_by = $11, consent_signed_at = $12, consent_entered_at = $13, consent_form_version = $14,
       phase = $15, maintenance_interval_days = $16, stopped_by = $17,
       review_due_at = $18, reviewed_by = $19, reviewed_at = $20, review_decision = $21
WHERE id = $1"""
_ADD_PLAN_CHANGE = """
INSERT INTO course_plan_changes (course_id, change, planned_sessions, reason, changed_by, rule_set_version, at)
VALUES ($1, $2, $3, $4, $5, $6, $7)"""
_ADD_MEASURE = """
INSERT INTO course_measures (measure_id, course_id, instrument, total, measured_at, after_session)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING measure_id"""
_MEASURES = "SELECT * FROM course_measures WHERE course_id = $1 ORDER BY measured_at, measure_id"
_ADD_OUTCOME = """
INSERT INTO course_outcomes (course_id, ended_as, instrument, baseline, final, response, remission, rule_set_version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""
# Per instrument and rules version; response and remission rates count only courses where they mean something.
_COHORT = """
SELECT instrument, rule_set_version, ended_as, count(*) AS courses,
       count(response) AS assessable,
       count(*) FILTER (WHERE response) AS responders,
       count(*) FILTER (WHERE remission) AS remitters,
       avg(final - baseline)::float8 AS mean_change
FROM course_outcomes GROUP BY instrument, rule_set_version, ended_as
ORDER BY instrument, rule_set_version, ended_as"""
_ADD_SESSION = """
INSERT INTO dosing_sessions (id, course_id, pathway_id, status, scheduled_at) VALUES ($1, $2, $3, $4, $5)"""
_SESSION = "SELECT * FROM dosing_sessions WHERE id = $1"
_LOCK_SESSION = "SELECT * FROM dosing_sessions WHERE id = $1 FOR UPDATE"
_SESSIONS_OF_COURSE = "SELECT * FROM dosing_sessions WHERE course_id = $1 ORDER BY scheduled_at, id"
_SAVE_SESSION = """
UPDATE dosing_sessions SET status = $2, weight_kg = $3, deferral_reasons = $4,
       checked_by = $5, check_measured_at = $6, check_entered_at = $7,
       route = $8, dose_mg = $9, dose_mg_per_kg = $10, dose_weight_kg = $11, infusion_minutes = $12,
       dose_within_protocol = $13, dose_override_reason = $14, ordered_by = $15, ordered_at = $16,
       given_by = $17, dosed_at = $18, dose_entered_at = $19, witnessed_by = $20, witnessed_at = $21,
       discharged_by = $22, discharged_at = $23, discharge_entered_at = $24,
       ended_by = $25, ended_at = $26, ended_entered_at = $27, ended_reason = $28,
       session_number = $29, adverse_event_codes = $30, adverse_reviewed_by = $31, adverse_reviewed_at = $32,
       rule_set_version = $33, supervising_doctor = $34, monitoring_nurse = $35, therapist = $36,
       therapy_themes = $37, therapy_concerns = $38, supply_product = $39, supply_batch = $40,
       supply_volume_drawn_ml = $41
WHERE id = $1"""
_ADD_OVERRIDE = """
INSERT INTO session_overrides (session_id, step, rule, overridden_by, reason, rule_set_version, at)
VALUES ($1, $2, $3, $4, $5, $6, $7)"""
_OVERRIDES_OF_SESSION = "SELECT * FROM session_overrides WHERE session_id = $1 ORDER BY id"
_OVERRIDES_OF_COURSE = """
SELECT o.* FROM session_overrides o JOIN dosing_sessions s ON s.id = o.session_id WHERE s.course_id = $1
ORDER BY o.id"""
_ADD_VITALS = """
INSERT INTO vitals (session_id, phase, measured_at, systolic, diastolic, heart_rate, spo2, respiratory_rate, moaas,
                    cadss, breached, charted_by, entered_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"""
_VITALS = "SELECT * FROM vitals WHERE session_id = $1 ORDER BY measured_at, id"
_ADD_ALERT = """
INSERT INTO vitals_alerts (alert_id, session_id, breached, rule_set_version, raised_at) VALUES ($1, $2, $3, $4, $5)"""
_ACKNOWLEDGE_ALERT = """
UPDATE vitals_alerts SET acknowledged_by = $2, acknowledged_at = $3 WHERE alert_id = $1 AND acknowledged_at IS NULL
RETURNING true"""
_ADD_FINDING = """
INSERT INTO risk_findings (event_id, pathway_id, level, at, reason) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING"""
_FINDINGS = "SELECT level, at, reason FROM risk_findings WHERE pathway_id = $1"
_ADD_INTEGRATION = """
INSERT INTO integrations (id, session_id, course_id, pathway_id, opens_at, due_by) VALUES ($1, $2, $3, $4, $5, $6)"""
_INTEGRATION = "SELECT * FROM integrations WHERE id = $1"
_LOCK_INTEGRATION = "SELECT * FROM integrations WHERE id = $1 FOR UPDATE"
_INTEGRATIONS_OF_COURSE = "SELECT * FROM integrations WHERE course_id = $1 ORDER BY opens_at"
_COMPLETE_INTEGRATION = """
UPDATE integrations SET completed_at = $2, completed_by = $3, attended = $4, themes = $5, concerns = $6,
       risk_flag = $7, risk_reviewed_by = $8, risk_reviewed_at = $9, risk_level = $10
WHERE id = $1"""
_CANCEL_INTEGRATIONS = """
UPDATE integrations SET cancelled_at = $2 WHERE course_id = $1 AND completed_at IS NULL AND cancelled_at IS NULL"""
# Claimed rows stay locked until the claiming transaction commits, so two schedulers never fire the same row.
_CLAIM_DUE = """
SELECT * FROM integrations
WHERE due_published_at IS NULL AND completed_at IS NULL AND cancelled_at IS NULL AND opens_at <= $1
ORDER BY opens_at LIMIT $2 FOR UPDATE SKIP LOCKED"""
_CLAIM_OVERDUE = """
SELECT * FROM integrations
WHERE overdue_published_at IS NULL AND completed_at IS NULL AND cancelled_at IS NULL AND due_by <= $1
ORDER BY due_by LIMIT $2 FOR UPDATE SKIP LOCKED"""
_MARK_DUE_PUBLISHED = "UPDATE integrations SET due_published_at = $2 WHERE id = ANY($1::uuid[])"
_MARK_OVERDUE_PUBLISHED = "UPDATE integrations SET overdue_published_at = $2 WHERE id = ANY($1::uuid[])"
# Erasure keeps the coded history and removes what staff wrote in their own words.
_ERASE_FREE_TEXT = """
WITH sessions AS (UPDATE dosing_sessions SET dose_override_reason = NULL WHERE course_id = $1 RETURNING id)
UPDATE session_overrides SET reason = NULL WHERE session_id IN (SELECT id FROM sessions)"""


class SessionsRepository:
    """Sessions' tables, read and written on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add_course(self, *, course: Course) -> bool:
        """Open a course; False when the pathway already has one."""
        c = course
        return await self._conn.fetchval(
            _ADD_COURSE, c.id, c.pathway_id, c.status, c.planned_sessions, list(c.indications), c.age_band,
            dict(c.baselines), c.started_at,
        ) is not None

    async def course(self, *, course_id: uuid.UUID, for_update: bool = False) -> Course:
        """One course; NotFound otherwise."""
        return _course(await self._one(_LOCK_COURSE if for_update else _COURSE_BY_ID, course_id, what="course"))

    async def course_of_pathway(self, *, pathway_id: uuid.UUID) -> Course:
        """The pathway's course; NotFound when none was opened."""
        return _course(await self._one(_COURSE_BY_PATHWAY, pathway_id, what="course for that pathway"))

    async def save_course(self, *, course: Course) -> None:
        """Write a course's changed state."""
        c, prep, consent, review = course, course.preparation, course.consent, course.review
        await self._conn.execute(
            _SAVE_COURSE, c.id, c.status, c.planned_sessions, c.completed_at, c.ended_reason,
            *_act(prep and prep.act), prep and list(prep.topics), prep and list(prep.safety_plan),
            *_act(consent and consent.act), consent and consent.form_version,
            c.phase, c.maintenance_interval_days, c.stopped_by,
            review and review.due_at, *_act(review and review.decided)[:2], review and review.decision,
        )

    async def add_plan_change(self, *, course: Course, change: str, reason: str | None, by: str,
                              rule_set_version: str, at: datetime) -> None:
        """Keep a change to the course's plan: what, by whom, why."""
        await self._conn.execute(_ADD_PLAN_CHANGE, course.id, change, course.planned_sessions, reason, by,
                                 rule_set_version, at)

    async def add_measure(self, *, course_id: uuid.UUID, measure: CourseMeasure) -> bool:
        """Keep a measure taken during the course; False when it was already kept."""
        m = measure
        return await self._conn.fetchval(
            _ADD_MEASURE, m.measure_id, course_id, m.instrument, m.total, m.measured_at, m.after_session
        ) is not None

    async def measures(self, *, course_id: uuid.UUID) -> list[CourseMeasure]:
        """Every measure taken during the course, oldest first."""
        return [CourseMeasure(r["measure_id"], r["instrument"], r["total"], r["measured_at"], r["after_session"])
                for r in await self._conn.fetch(_MEASURES, course_id)]

    async def add_outcomes(self, *, course: Course, progress: list[InstrumentProgress], rule_set_version: str
                           ) -> None:
        """Keep an ended course's final figures per instrument, for cohort outcomes."""
        await self._conn.executemany(_ADD_OUTCOME, [
            (course.id, course.status, p.instrument, p.baseline, p.latest, p.response, p.remission, rule_set_version)
            for p in progress
        ])

    async def cohort_outcomes(self) -> list[asyncpg.Record]:
        """Ended courses per instrument, rules version and how they ended: how many, how many assessable,
        responders, remitters, mean change (no identifier)."""
        return await self._conn.fetch(_COHORT)

    async def add_session(self, *, session: DosingSession) -> None:
        """Store a scheduled session."""
        s = session
        await self._conn.execute(_ADD_SESSION, s.id, s.course_id, s.pathway_id, s.status.value, s.scheduled_at)

    async def session(self, *, session_id: uuid.UUID, for_update: bool = False) -> DosingSession:
        """One session, without its overrides; NotFound otherwise."""
        return _session(await self._one(_LOCK_SESSION if for_update else _SESSION, session_id, what="session"))

    async def sessions_of_course(self, *, course_id: uuid.UUID) -> list[DosingSession]:
        """A course's sessions in scheduled order, each with its overrides."""
        overrides: dict[uuid.UUID, list[Override]] = {}
        for r in await self._conn.fetch(_OVERRIDES_OF_COURSE, course_id):
            overrides.setdefault(r["session_id"], []).append(_override(r))
        return [_session(r, tuple(overrides.get(r["id"], ()))) for r in await self._conn.fetch(_SESSIONS_OF_COURSE,
                                                                                               course_id)]

    async def overrides(self, *, session_id: uuid.UUID) -> tuple[Override, ...]:
        """One session's overrides, oldest first."""
        return tuple(_override(r) for r in await self._conn.fetch(_OVERRIDES_OF_SESSION, session_id))

    async def save_session(self, *, session: DosingSession) -> None:
        """Write a session's changed state (its overrides are added with add_override)."""
        s, d = session, session.dose
        await self._conn.execute(
            _SAVE_SESSION, s.id, s.status.value, s.weight_kg, list(s.deferral_reasons), *_act(s.checked),
            d and d.route, d and d.mg, d and d.mg_per_kg, d and d.weight_kg, d and d.infusion_minutes,
            d and d.within_protocol, d and d.override_reason, *_act(s.ordered)[:2], *_act(s.given),
            *_act(s.witnessed)[:2], *_act(s.discharged), *_act(s.ended), s.ended_reason, s.session_number,
            list(s.adverse_event_codes), *_act(s.adverse_events_reviewed)[:2], s.rule_set_version,
            *((t.supervising_doctor, t.monitoring_nurse, t.therapist) if (t := s.team) else (None, None, None)),
            list(s.therapy_note.themes) if s.therapy_note else [],
            list(s.therapy_note.concerns) if s.therapy_note else [],
            *((u.product, u.batch, u.volume_drawn_ml) if (u := s.supply) else (None, None, None)),
        )

    async def add_override(self, *, session_id: uuid.UUID, override: Override, rule_set_version: str) -> None:
        """Record a doctor's override."""
        o = override
        await self._conn.execute(_ADD_OVERRIDE, session_id, o.step, o.rule, o.by, o.reason, rule_set_version, o.at)

    async def add_vitals(
        self, *, session_id: uuid.UUID, reading: VitalsReading, phase: str, breached: list[str]
    ) -> None:
        """Store one set of readings."""
        v = reading.vitals
        await self._conn.execute(
            _ADD_VITALS, session_id, phase, reading.measured_at, v.systolic, v.diastolic, v.heart_rate, v.spo2,
            v.respiratory_rate, v.moaas, list(v.cadss) if v.cadss is not None else None, breached,
            reading.charted_by, reading.entered_at,
        )

    async def vitals(self, *, session_id: uuid.UUID) -> list[ChartedReading]:
        """A session's readings, oldest first, with their phase and breached thresholds."""
        return [ChartedReading(r["phase"], _reading(r), tuple(r["breached"]))
                for r in await self._conn.fetch(_VITALS, session_id)]

    async def add_alert(
        self, *, alert_id: uuid.UUID, session_id: uuid.UUID, breached: list[str], rule_set_version: str, at: datetime
    ) -> None:
        """Store a vital-sign safety alert."""
        await self._conn.execute(_ADD_ALERT, alert_id, session_id, breached, rule_set_version, at)

    async def acknowledge_alert(self, *, alert_id: uuid.UUID, by: str, at: datetime) -> bool:
        """Note that staff acknowledged one of our alerts; False for another service's (or one already noted)."""
        return bool(await self._conn.fetchval(_ACKNOWLEDGE_ALERT, alert_id, by, at))

    async def add_risk_finding(self, *, event_id: uuid.UUID, pathway_id: uuid.UUID, finding: RiskFinding) -> None:
        """Keep one safety flag or risk review (once per event or act)."""
        await self._conn.execute(_ADD_FINDING, event_id, pathway_id, finding.level, finding.at, finding.reason)

    async def risk_findings(self, *, pathway_id: uuid.UUID) -> list[RiskFinding]:
        """Every safety flag (screening's or a therapist's) and risk review for a pathway."""
        return [RiskFinding(r["at"], r["level"], r["reason"]) for r in await self._conn.fetch(_FINDINGS, pathway_id)]

    async def add_integration(self, *, integration: Integration) -> None:
        """Store an integration session that falls due."""
        i = integration
        await self._conn.execute(_ADD_INTEGRATION, i.id, i.session_id, i.course_id, i.pathway_id, i.opens_at, i.due_by)

    async def integration(self, *, integration_id: uuid.UUID, for_update: bool = False) -> Integration:
        """One integration session; NotFound otherwise."""
        query = _LOCK_INTEGRATION if for_update else _INTEGRATION
        return _integration(await self._one(query, integration_id, what="integration session"))

    async def integrations_of_course(self, *, course_id: uuid.UUID) -> list[Integration]:
        """A course's integration sessions."""
        return [_integration(r) for r in await self._conn.fetch(_INTEGRATIONS_OF_COURSE, course_id)]

    async def save_integration(self, *, integration: Integration) -> None:
        """Record what the therapist recorded of an integration session."""
        i, o = integration, integration.outcome
        await self._conn.execute(_COMPLETE_INTEGRATION, i.id, i.completed_at, i.completed_by, o.attended,
                                 list(o.themes), list(o.concerns), o.risk_flag, *_act(i.risk_review)[:2],
                                 i.risk_level)

    async def cancel_open_integrations(self, *, course_id: uuid.UUID, at: datetime) -> None:
        """No more integration notices for a withdrawn course."""
        await self._conn.execute(_CANCEL_INTEGRATIONS, course_id, at)

    async def erase_free_text(self, *, course_id: uuid.UUID) -> None:
        """Remove what staff wrote in their own words about a course (override reasons), keeping the codes."""
        await self._conn.execute(_ERASE_FREE_TEXT, course_id)

    async def claim_due(self, *, now: datetime, limit: int) -> list[Integration]:
        """Integrations whose window has opened and whose `integration.due` is not yet published (locked)."""
        return [_integration(r) for r in await self._conn.fetch(_CLAIM_DUE, now, limit)]

    async def claim_overdue(self, *, now: datetime, limit: int) -> list[Integration]:
        """Integrations past their due time, not completed, not yet announced overdue (locked)."""
        return [_integration(r) for r in await self._conn.fetch(_CLAIM_OVERDUE, now, limit)]

    async def mark_due_published(self, *, ids: list[uuid.UUID], at: datetime) -> None:
        """Remember that `integration.due` went out for these."""
        await self._conn.execute(_MARK_DUE_PUBLISHED, ids, at)

    async def mark_overdue_published(self, *, ids: list[uuid.UUID], at: datetime) -> None:
        """Remember that `integration.overdue` went out for these."""
        await self._conn.execute(_MARK_OVERDUE_PUBLISHED, ids, at)

    async def _one(self, query: str, key: uuid.UUID, *, what: str) -> asyncpg.Record:
        row = await self._conn.fetchrow(query, key)
        if row is None:
            raise NotFound(f"no {what} with that id")
        return row


def _act(act: Act | None) -> tuple[str | None, datetime | None, datetime | None]:
    return (act.by, act.at, act.entered_at) if act else (None, None, None)


def _read_act(by: str | None, at: datetime | None, entered_at: datetime | None = None) -> Act | None:
    return Act(by, at, entered_at or at) if by is not None and at is not None else None


def _course(r: asyncpg.Record) -> Course:
    prepared = _read_act(r["prepared_by"], r["prepared_at"], r["preparation_entered_at"])
    consented = _read_act(r["consent_recorded_by"], r["consent_signed_at"], r["consent_entered_at"])
    review = r["review_due_at"] and Review(r["review_due_at"], _read_act(r["reviewed_by"], r["reviewed_at"]),
                                           r["review_decision"])
    return Course(
        id=r["id"], pathway_id=r["pathway_id"], status=r["status"], planned_sessions=r["planned_sessions"],
        indications=tuple(r["indications"]), age_band=r["age_band"], baselines=dict(r["baselines"]),
        started_at=r["started_at"], completed_at=r["completed_at"], ended_reason=r["ended_reason"],
        stopped_by=r["stopped_by"],
        preparation=prepared and Preparation(prepared, tuple(r["preparation_topics"]), tuple(r["safety_plan"])),
        consent=consented and Consent(consented, r["consent_form_version"]),
        phase=r["phase"], maintenance_interval_days=r["maintenance_interval_days"], review=review,
    )


def _override(r: asyncpg.Record) -> Override:
    return Override(r["step"], r["rule"], r["overridden_by"], r["reason"], r["at"])


def _number(value: object) -> float | None:
    return float(value) if value is not None else None


def _session(r: asyncpg.Record, overrides: tuple[Override, ...] = ()) -> DosingSession:
    dose = None
    if r["route"] is not None:
        dose = Dose(route=r["route"], mg=float(r["dose_mg"]), mg_per_kg=_number(r["dose_mg_per_kg"]),
                    weight_kg=_number(r["dose_weight_kg"]), infusion_minutes=r["infusion_minutes"],
                    within_protocol=r["dose_within_protocol"], override_reason=r["dose_override_reason"])
    return DosingSession(
        id=r["id"], course_id=r["course_id"], pathway_id=r["pathway_id"], status=SessionStatus(r["status"]),
        scheduled_at=r["scheduled_at"], weight_kg=_number(r["weight_kg"]),
        checked=_read_act(r["checked_by"], r["check_measured_at"], r["check_entered_at"]),
        deferral_reasons=tuple(r["deferral_reasons"]), overrides=overrides, dose=dose,
        ordered=_read_act(r["ordered_by"], r["ordered_at"]),
        given=_read_act(r["given_by"], r["dosed_at"], r["dose_entered_at"]),
        witnessed=_read_act(r["witnessed_by"], r["witnessed_at"]),
        discharged=_read_act(r["discharged_by"], r["discharged_at"], r["discharge_entered_at"]),
        ended=_read_act(r["ended_by"], r["ended_at"], r["ended_entered_at"]), ended_reason=r["ended_reason"],
        session_number=r["session_number"], adverse_event_codes=tuple(r["adverse_event_codes"]),
        adverse_events_reviewed=_read_act(r["adverse_reviewed_by"], r["adverse_reviewed_at"]),
        rule_set_version=r["rule_set_version"],
        team=r["supervising_doctor"] and Team(r["supervising_doctor"], r["monitoring_nurse"], r["therapist"]),
        therapy_note=(TherapyNote(tuple(r["therapy_themes"]), tuple(r["therapy_concerns"]))
                      if r["therapy_themes"] or r["therapy_concerns"] else None),
        supply=r["supply_product"] and Supply(r["supply_product"], r["supply_batch"],
                                              _number(r["supply_volume_drawn_ml"])),
    )


def _reading(r: asyncpg.Record) -> VitalsReading:
    vitals = Vitals(r["systolic"], r["diastolic"], r["heart_rate"], r["spo2"], r["respiratory_rate"], r["moaas"],
                    tuple(r["cadss"]) if r["cadss"] is not None else None)
    return VitalsReading(vitals, r["measured_at"], r["charted_by"], r["entered_at"])


def _integration(r: asyncpg.Record) -> Integration:
    return Integration(
        id=r["id"], session_id=r["session_id"], course_id=r["course_id"], pathway_id=r["pathway_id"],
        opens_at=r["opens_at"], due_by=r["due_by"], completed_at=r["completed_at"], completed_by=r["completed_by"],
        cancelled_at=r["cancelled_at"],
        outcome=(IntegrationOutcome(r["attended"], tuple(r["themes"]), tuple(r["concerns"]), r["risk_flag"])
                 if r["attended"] is not None else None),
        risk_review=_read_act(r["risk_reviewed_by"], r["risk_reviewed_at"]), risk_level=r["risk_level"],
    )
