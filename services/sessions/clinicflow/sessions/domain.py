"""A treatment course, its dosing sessions and the integration therapy after each (docs/clinical-rules.md §1 steps 5–7, §4–5).
Pure: no I/O; the clock is passed in.

A dosing session: scheduled → ready (pre-dose check passed) or deferred → dosed → discharged. A course completes
when its planned sessions are logged and each one's integration is done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from clinicflow.sessions.monitoring import Dose, PreDoseCheck, Vitals, breached_thresholds
from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.errors import IllegalMove, InvalidField

# docs/clinical-rules.md §4: vitals at least before dosing, ~40 min after (BP peaks then) and before discharge.
PEAK_WINDOW = (timedelta(minutes=30), timedelta(minutes=60))
PRE_DISCHARGE_WINDOW = timedelta(minutes=30)
CHARTING_WINDOW = timedelta(hours=12)  # doses and vitals may be charted after the fact, within a shift
RESPONSE_DROP = 0.5  # docs/clinical-rules.md §2: response = PHQ-9 reduced by ≥ 50 % from baseline
REMISSION_BELOW = 5  # remission = PHQ-9 < 5
MEANINGFUL_BASELINE = 10  # only meaningful when baseline ≥ 10


class SessionStatus(StrEnum):
    """Where a dosing session stands."""

    SCHEDULED = "scheduled"
    READY = "ready"
    DEFERRED = "deferred"
    DOSED = "dosed"
    DISCHARGED = "discharged"


@dataclass(frozen=True)
class Progress:
    """Depression outcome against the course's baseline."""

    baseline: int
    latest: int
    change_percent: float
    response: bool | None
    remission: bool | None


def progress(baseline: int, latest: int) -> Progress:
    """Change from baseline, response and remission (None when the baseline is below 10)."""
    change = round((latest - baseline) / baseline * 100, 1) if baseline else 0.0
    meaningful = baseline >= MEANINGFUL_BASELINE
    return Progress(
        baseline, latest, change,
        response=(latest <= baseline * (1 - RESPONSE_DROP)) if meaningful else None,
        remission=(latest < REMISSION_BELOW) if meaningful else None,
    )


@dataclass(frozen=True)
class Course:
    """A course of dosing sessions for one pathway."""

    id: uuid.UUID
    pathway_id: uuid.UUID
    status: str  # active | completed
    planned_sessions: int
    indications: tuple[str, ...]
    age_band: str | None
    baseline_phq9: int | None
    latest_phq9: int | None
    started_at: datetime
    completed_at: datetime | None = None

    def require_active(self) -> None:
        """Sessions are scheduled only on an active course."""
        if self.status != "active":
            raise IllegalMove("the course is completed")

    def check_room_for_session(self, sessions_going_ahead: int) -> None:
        """No more sessions than planned (deferred ones do not count)."""
        self.require_active()
        if sessions_going_ahead >= self.planned_sessions:
            raise IllegalMove(f"the course's {self.planned_sessions} planned sessions are already scheduled")

    def complete_if_done(self, *, logged_sessions: int, open_integrations: int, now: datetime) -> Course:
        """Completed once every planned session is logged and every integration done."""
        if self.status == "active" and logged_sessions >= self.planned_sessions and open_integrations == 0:
            return replace(self, status="completed", completed_at=now)
        return self


@dataclass(frozen=True)
class DischargeChecklist:
    """The discharge checklist (docs/clinical-rules.md §4), signed by a named clinician."""

    vitals_back_in_range: bool
    moaas_5: bool
    escort_present: bool
    no_driving_until_next_day_advised: bool
    instructions_given: bool
    next_session_booked: bool
    integration_booked: bool

    def unticked(self) -> list[str]:
        """Items not confirmed."""
        return [name for name, ticked in self.__dict__.items() if not ticked]


@dataclass(frozen=True)
class VitalsReading:
    """Vitals with when they were taken."""

    vitals: Vitals
    measured_at: datetime


@dataclass(frozen=True)
class DosingSession:
    """One monitored dosing session."""

    id: uuid.UUID
    course_id: uuid.UUID
    pathway_id: uuid.UUID
    status: SessionStatus
    scheduled_at: datetime
    weight_kg: float | None = None
    deferral_reasons: tuple[str, ...] = ()
    pre_dose_override_reason: str | None = None
    dose: Dose | None = None
    dosed_at: datetime | None = None
    discharged_at: datetime | None = None
    discharged_by: str | None = None
    session_number: int | None = None
    adverse_event_codes: tuple[str, ...] = ()
    rule_set_version: str | None = None

    def _require(self, *allowed: SessionStatus, action: str) -> None:
        if self.status not in allowed:
            raise IllegalMove(f"cannot {action}: the session is {self.status.value}")

    def check_before_dosing(
        self, check: PreDoseCheck, reasons: list[str], *, override_reason: str | None, by_doctor: bool, rules: SessionRules
    ) -> DosingSession:
        """Pass the pre-dose check, or defer with reasons unless a doctor overrides with a written reason."""
        self._require(SessionStatus.SCHEDULED, action="record a pre-dose check")
        if override_reason and not by_doctor:
            raise IllegalMove("only the supervising doctor can override a deferral")
        go_ahead = not reasons or bool(override_reason)
        return replace(
            self, status=SessionStatus.READY if go_ahead else SessionStatus.DEFERRED, weight_kg=check.weight_kg,
            deferral_reasons=tuple(reasons), pre_dose_override_reason=override_reason if reasons else None,
            rule_set_version=rules.version,
        )

    def give(self, dose: Dose, *, at: datetime, now: datetime) -> DosingSession:
        """Record the dose given at ``at`` (charted time: not in the future)."""
        self._require(SessionStatus.READY, action="record a dose")
        _check_charted_time("given_at", at, now)
        return replace(self, status=SessionStatus.DOSED, dose=dose, dosed_at=at)

    def check_vitals_allowed(self, measured_at: datetime, now: datetime) -> None:
        """Readings belong to a session between its pre-dose check and discharge."""
        self._require(SessionStatus.READY, SessionStatus.DOSED, action="record vitals")
        _check_charted_time("measured_at", measured_at, now)

    def discharge(
        self, checklist: DischargeChecklist, *, readings: list[VitalsReading], clinician_id: str,
        session_number: int, adverse_event_codes: tuple[str, ...], rules: SessionRules, now: datetime,
    ) -> DosingSession:
        """Discharge after the monitoring minimum, with vitals back in range and the checklist complete."""
        self._require(SessionStatus.DOSED, action="discharge")
        monitored = now - self.dosed_at
        minimum = timedelta(minutes=rules.minimum_monitoring_minutes)
        if monitored < minimum:
            raise IllegalMove(f"cannot discharge: {int(monitored.total_seconds() // 60)} of "
                              f"{rules.minimum_monitoring_minutes} minutes of monitoring since dosing")
        _check_discharge_vitals(self.dosed_at, readings, rules, now)
        unticked = checklist.unticked()
        if unticked:
            raise InvalidField(f"checklist.{unticked[0]}", "not_confirmed",
                               f"the discharge checklist is incomplete: {', '.join(unticked)}")
        return replace(
            self, status=SessionStatus.DISCHARGED, discharged_at=now, discharged_by=clinician_id,
            session_number=session_number, adverse_event_codes=adverse_event_codes,
        )


def _check_charted_time(field: str, at: datetime, now: datetime) -> None:
    if at > now:
        raise InvalidField(field, "future_time", "a reading or dose cannot be charted in the future")
    if now - at > CHARTING_WINDOW:
        raise InvalidField(field, "too_old", "charting more than 12 hours after the fact needs a clinical note")


def _check_discharge_vitals(dosed_at: datetime, readings: list[VitalsReading], rules: SessionRules,
                            now: datetime) -> None:
    after = sorted((r for r in readings if r.measured_at >= dosed_at), key=lambda r: r.measured_at)
    if not any(PEAK_WINDOW[0] <= r.measured_at - dosed_at <= PEAK_WINDOW[1] for r in after):
        raise IllegalMove("cannot discharge: no vitals were recorded 30–60 minutes after dosing (BP peak)")
    if not after or now - after[-1].measured_at > PRE_DISCHARGE_WINDOW:
        raise IllegalMove("cannot discharge: record pre-discharge vitals (within the last 30 minutes) first")
    last = after[-1].vitals
    if breached_thresholds(last, rules) or last.moaas != 5:
        raise IllegalMove("cannot discharge: the last vitals are out of range or MOAA/S is not yet 5")


@dataclass(frozen=True)
class Integration:
    """Integration therapy after one dosing session."""

    id: uuid.UUID
    session_id: uuid.UUID
    course_id: uuid.UUID
    pathway_id: uuid.UUID
    opens_at: datetime
    due_by: datetime
    completed_at: datetime | None = None
    completed_by: str | None = None

    def complete(self, *, therapist_id: str, now: datetime) -> Integration:
        """The therapist recorded the integration session."""
        if self.completed_at is not None:
            raise IllegalMove("the integration session was already completed")
        return replace(self, completed_at=now, completed_by=therapist_id)


def integration_after(session: DosingSession, rules: SessionRules) -> Integration:
    """The integration session a discharge makes due (default within 72 hours: docs/clinical-rules.md §5)."""
    return Integration(
        id=uuid.uuid4(), session_id=session.id, course_id=session.course_id, pathway_id=session.pathway_id,
        opens_at=session.discharged_at + timedelta(hours=rules.integration_opens_after_hours),
        due_by=session.discharged_at + timedelta(hours=rules.integration_due_within_hours),
    )
