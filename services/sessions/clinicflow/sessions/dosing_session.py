"""A dosing session (docs/clinical-rules.md §1 step 5, §4). Pure: no I/O; the clock is passed in.

A dosing session: scheduled → ready (pre-dose check passed, or every deferral reason overridden by a doctor) or
deferred (checked again, or overridden) → dose ordered → dosed → witnessed → discharged; or cancelled before the
dose, abandoned after it, transferred to hospital. Every clinical act records who did it, when it happened and when
it was entered; acts are charted in clinical order within the charting window, never in the future.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from clinicflow.sessions.acts import Act, check_charted_time, check_codes
from clinicflow.sessions.dosing import Dose
from clinicflow.sessions.monitoring import (
    DISCHARGE_OVERRIDABLE,
    NOT_OVERRIDABLE,
    PreDoseCheck,
    Vitals,
    outside_discharge_ranges,
)
from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.errors import IllegalMove, InvalidField


class SessionStatus(StrEnum):
    """Where a dosing session stands."""

    SCHEDULED = "scheduled"
    READY = "ready"
    DEFERRED = "deferred"
    DOSED = "dosed"
    DISCHARGED = "discharged"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"
    TRANSFERRED = "transferred_to_hospital"


BEFORE_DOSE = frozenset({SessionStatus.SCHEDULED, SessionStatus.READY, SessionStatus.DEFERRED})
ENDED = frozenset({SessionStatus.DISCHARGED, SessionStatus.CANCELLED, SessionStatus.ABANDONED,
                   SessionStatus.TRANSFERRED})
# Not counted against the course's plan: deferred for now, or ended without completing (replaced by another).
NOT_COUNTED = frozenset({SessionStatus.DEFERRED, SessionStatus.CANCELLED, SessionStatus.ABANDONED,
                         SessionStatus.TRANSFERRED})
AFTER_DOSE = frozenset({SessionStatus.DOSED, SessionStatus.DISCHARGED, SessionStatus.ABANDONED,
                        SessionStatus.TRANSFERRED})


@dataclass(frozen=True)
class Override:
    """A doctor's decision to go ahead despite a rule, with their reason (None once erased)."""

    step: str  # pre_dose | dose | discharge
    rule: str  # the deferral reason or criterion overridden
    by: str
    reason: str | None
    at: datetime


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
class Team:
    """Who is in the room: the supervising doctor, the nurse monitoring, the therapist giving concurrent therapy."""

    supervising_doctor: str
    monitoring_nurse: str
    therapist: str


@dataclass(frozen=True)
class TherapyNote:
    """What the therapist saw, coded: themes that came up, concerns for the team (their words stay in their notes)."""

    themes: tuple[str, ...]
    concerns: tuple[str, ...]


def check_therapy_codes(themes: tuple[str, ...], concerns: tuple[str, ...], rules: SessionRules) -> None:
    """Themes and concerns are coded from the rule file's lists."""
    check_codes("themes", themes, rules.therapy_themes)
    check_codes("concerns", concerns, rules.therapy_concerns)


@dataclass(frozen=True)
class VitalsReading:
    """Vitals with when they were taken, who charted them and when."""

    vitals: Vitals
    measured_at: datetime
    charted_by: str | None = None
    entered_at: datetime | None = None


@dataclass(frozen=True)
class ChartedReading:
    """A reading on a session's chart: its phase (pre-dose or in-session) and the alarm limits it breached."""

    phase: str
    reading: VitalsReading
    breached: tuple[str, ...]


@dataclass(frozen=True)
class Supply:
    """Where the dose came from, for the controlled-drugs register: the product (the register's code), its batch and,
    for a solution, the volume drawn up."""

    product: str
    batch: str
    volume_drawn_ml: float | None = None



def _on_record(act: Act | None, what: str, status: SessionStatus) -> Act:
    """An act the session's status says happened; its absence is a damaged record, refused rather than guessed."""
    if act is None:
        raise IllegalMove(f"the session is {status.value.replace('_', ' ')} but has no {what} on record")
    return act

@dataclass(frozen=True)
class DosingSession:
    """One monitored dosing session."""

    id: uuid.UUID
    course_id: uuid.UUID
    pathway_id: uuid.UUID
    status: SessionStatus
    scheduled_at: datetime
    weight_kg: float | None = None
    checked: Act | None = None
    deferral_reasons: tuple[str, ...] = ()
    overrides: tuple[Override, ...] = ()
    dose: Dose | None = None
    ordered: Act | None = None
    given: Act | None = None
    witnessed: Act | None = None
    discharged: Act | None = None
    ended: Act | None = None  # cancelled, abandoned or transferred: by whom, when
    ended_reason: str | None = None
    session_number: int | None = None
    adverse_event_codes: tuple[str, ...] = ()
    adverse_events_reviewed: Act | None = None
    rule_set_version: str | None = None
    team: Team | None = None
    therapy_note: TherapyNote | None = None
    supply: Supply | None = None

    @property
    def dosed_at(self) -> datetime | None:
        """When the dose was given."""
        return self.given.at if self.given else None

    @property
    def discharged_at(self) -> datetime | None:
        """When the client went home."""
        return self.discharged.at if self.discharged else None

    @property
    def _checked_act(self) -> Act:
        """The pre-dose check (a session that is ready or further on has one)."""
        return _on_record(self.checked, "pre-dose check", self.status)

    @property
    def _given_act(self) -> Act:
        """The dose given (a dosed session has one)."""
        return _on_record(self.given, "dose", self.status)

    @property
    def unreviewed_adverse_event(self) -> bool:
        """An adverse event no doctor has reviewed yet: it blocks the course's next dose."""
        return bool(self.adverse_event_codes) and self.adverse_events_reviewed is None

    def _require(self, allowed: frozenset[SessionStatus] | set[SessionStatus], *, action: str) -> None:
        if self.status not in allowed:
            raise IllegalMove(f"cannot {action}: the session is {self.status.value.replace('_', ' ')}")

    def check_before_dosing(self, check: PreDoseCheck, reasons: list[str], *, act: Act, rules: SessionRules
                            ) -> DosingSession:
        """Record a pre-dose check (again, after a deferral or when one went stale): ready, or deferred."""
        self._require(BEFORE_DOSE, action="record a pre-dose check")
        check_charted_time("measured_at", act.at, now=act.entered_at, rules=rules)
        if act.at.astimezone(rules.zone).date() < self.scheduled_at.astimezone(rules.zone).date():
            raise InvalidField("measured_at", "before_scheduled_day", "a pre-dose check cannot precede the "
                                                                     "session's scheduled day")
        return replace(
            self, status=SessionStatus.DEFERRED if reasons else SessionStatus.READY, weight_kg=check.weight_kg,
            checked=act, deferral_reasons=tuple(reasons), overrides=(), dose=None, ordered=None,
            rule_set_version=rules.version,
        )

    def override_deferral(self, rule: str, *, by: str, reason: str, now: datetime) -> tuple[DosingSession, Override]:
        """A doctor goes ahead despite one deferral reason; ready once every reason is overridden."""
        self._require({SessionStatus.DEFERRED}, action="override a deferral")
        if rule not in self.deferral_reasons:
            raise InvalidField("rule", "not_a_deferral_reason", f"{rule!r} is not a reason this session was deferred")
        if rule in NOT_OVERRIDABLE:
            raise IllegalMove(f"{rule.replace('_', ' ')} cannot be overridden: it is released by a doctor's review")
        if any(o.step == "pre_dose" and o.rule == rule for o in self.overrides):
            raise IllegalMove(f"{rule!r} was already overridden")
        override = Override("pre_dose", rule, by, reason, now)
        overrides = (*self.overrides, override)
        remaining = set(self.deferral_reasons) - {o.rule for o in overrides if o.step == "pre_dose"}
        return replace(self, overrides=overrides,
                       status=SessionStatus.DEFERRED if remaining else SessionStatus.READY), override

    def order_dose(self, dose: Dose, *, act: Act) -> DosingSession:
        """The supervising doctor orders the dose, once the pre-dose check has passed."""
        self._require({SessionStatus.READY}, action="order a dose")
        return replace(self, dose=dose, ordered=act)

    def name_team(self, team: Team) -> DosingSession:
        """Name who is in the room (again at a handover), from before the dose until the client leaves."""
        self._require(BEFORE_DOSE | {SessionStatus.DOSED}, action="name the team")
        if team.supervising_doctor == team.monitoring_nurse:
            raise InvalidField("monitoring_nurse", "same_as_doctor",
                               "the nurse monitoring is a second person, not the supervising doctor")
        return replace(self, team=team)

    def record_therapy_note(self, note: TherapyNote) -> DosingSession:
        """The therapist's coded note of the session (from the dose on; a later note replaces it)."""
        self._require(AFTER_DOSE, action="record the therapist's note")
        return replace(self, therapy_note=note)

    def give(self, *, act: Act, supply: Supply, rules: SessionRules) -> DosingSession:
        """The dose was given at ``act.at`` from ``supply``: after its check, within the check's validity, charted in
        order, with the team in the room named."""
        self._require({SessionStatus.READY}, action="record a dose")
        if self.ordered is None:
            raise IllegalMove("cannot record a dose: no dose has been ordered for this session")
        if self.team is None:
            raise IllegalMove("cannot record a dose: name the supervising doctor, the nurse monitoring and the "
                              "therapist first")
        check_charted_time("given_at", act.at, now=act.entered_at, rules=rules)
        checked_at = self._checked_act.at
        if act.at < checked_at:
            raise InvalidField("given_at", "before_pre_dose_check", "a dose cannot precede its pre-dose check")
        if act.at - checked_at > timedelta(minutes=rules.pre_dose.dose_within_minutes):
            raise IllegalMove(f"cannot record a dose more than {rules.pre_dose.dose_within_minutes} minutes after "
                              "its pre-dose check: check again")
        return replace(self, status=SessionStatus.DOSED, given=act, supply=supply)

    def witness(self, *, act: Act) -> DosingSession:
        """A second member of staff confirms the dose they saw given (a controlled drug, §8)."""
        self._require({SessionStatus.DOSED}, action="witness the dose")
        if self.witnessed is not None:
            raise IllegalMove(f"the dose was already witnessed by {self.witnessed.by}")
        if act.by == self._given_act.by:
            raise IllegalMove("the witness must be a second member of staff, not the person who gave the dose")
        return replace(self, witnessed=act)

    def check_reading_time(self, measured_at: datetime, *, now: datetime, rules: SessionRules) -> None:
        """Readings belong between the pre-dose check and the end of the session, after the dose once given."""
        self._require({SessionStatus.READY, SessionStatus.DOSED}, action="record vitals")
        check_charted_time("measured_at", measured_at, now=now, rules=rules)
        after, what = ((self.given.at, "the dose") if self.given is not None
                       else (self._checked_act.at, "the pre-dose check"))
        if measured_at < after:
            raise InvalidField("measured_at", "out_of_order", f"a reading cannot precede {what}")

    def discharge(self, request: DischargeRequest, *, readings: list[VitalsReading], session_number: int,
                  rules: SessionRules) -> tuple[DosingSession, list[Override]]:
        """Discharge: monitored long enough, the dose witnessed, the last reading in the discharge ranges (or a
        doctor's override where a client's own baseline sits outside them), the checklist complete."""
        self._require({SessionStatus.DOSED}, action="discharge")
        act = request.act
        check_charted_time("discharged_at", act.at, now=act.entered_at, rules=rules)
        if self.witnessed is None:
            raise IllegalMove("cannot discharge: no second member of staff has witnessed the dose")
        dosed_at = self._given_act.at
        monitored = act.at - dosed_at
        if monitored < timedelta(minutes=rules.monitoring.minimum_minutes):
            raise IllegalMove(f"cannot discharge: {max(0, int(monitored.total_seconds() // 60))} of "
                              f"{rules.monitoring.minimum_minutes} minutes of monitoring since the dose")
        last = _last_reading_for_discharge(dosed_at, act.at, readings, rules)
        overrides = _discharge_overrides(outside_discharge_ranges(last.vitals, rules), request, act)
        unticked = request.checklist.unticked()
        if unticked:
            raise InvalidField(f"checklist.{unticked[0]}", "not_confirmed",
                               f"the discharge checklist is incomplete: {', '.join(unticked)}")
        discharged = replace(self, status=SessionStatus.DISCHARGED, discharged=act, session_number=session_number,
                             overrides=(*self.overrides, *overrides))
        return discharged._with_adverse_events(request.adverse_event_codes), overrides

    def cancel(self, reason: str, *, act: Act) -> DosingSession:
        """The session will not happen (before any dose)."""
        self._require(BEFORE_DOSE, action="cancel")
        return replace(self, status=SessionStatus.CANCELLED, ended=act, ended_reason=reason)

    def end_early(self, status: SessionStatus, reason: str, *, act: Act, adverse_event_codes: tuple[str, ...],
                  rules: SessionRules) -> DosingSession:
        """Abandoned after the dose, or transferred to hospital (from a passed check on)."""
        allowed = {SessionStatus.DOSED} if status is SessionStatus.ABANDONED else {SessionStatus.READY,
                                                                                   SessionStatus.DOSED}
        self._require(allowed, action=f"record the session as {status.value.replace('_', ' ')}")
        check_charted_time("at", act.at, now=act.entered_at, rules=rules)
        if act.at < (self.given.at if self.given is not None else self._checked_act.at):
            raise InvalidField("at", "out_of_order", "the session cannot end before it began")
        ended = replace(self, status=status, ended=act, ended_reason=reason)
        return ended._with_adverse_events(adverse_event_codes)

    def add_adverse_events(self, codes: tuple[str, ...]) -> DosingSession:
        """Adverse events noticed during or after the session; new ones need a doctor's review."""
        self._require(AFTER_DOSE, action="record adverse events")
        return self._with_adverse_events(codes)

    def _with_adverse_events(self, codes: tuple[str, ...]) -> DosingSession:
        merged = tuple(dict.fromkeys((*self.adverse_event_codes, *codes)))
        if merged == self.adverse_event_codes:
            return self
        return replace(self, adverse_event_codes=merged, adverse_events_reviewed=None)

    def review_adverse_events(self, *, act: Act) -> DosingSession:
        """A doctor reviewed this session's adverse events: the next dose may go ahead (after a new check)."""
        if not self.unreviewed_adverse_event:
            raise IllegalMove("no adverse event of this session is waiting for a review")
        return replace(self, adverse_events_reviewed=act)


@dataclass(frozen=True)
class DischargeRequest:
    """A discharge as charted: who, when, the checklist, adverse events, and any doctor's overrides."""

    act: Act
    checklist: DischargeChecklist
    adverse_event_codes: tuple[str, ...] = ()
    overrides: tuple[tuple[str, str], ...] = ()  # (criterion, reason)
    by_doctor: bool = False


def _last_reading_for_discharge(dosed_at: datetime, discharged_at: datetime, readings: list[VitalsReading],
                                rules: SessionRules) -> VitalsReading:
    after = sorted((r for r in readings if dosed_at <= r.measured_at <= discharged_at), key=lambda r: r.measured_at)
    low, high = (timedelta(minutes=m) for m in rules.monitoring.peak_reading_minutes)
    if not any(low <= r.measured_at - dosed_at <= high for r in after):
        raise IllegalMove(f"cannot discharge: no vitals were recorded {rules.monitoring.peak_reading_minutes[0]}–"
                          f"{rules.monitoring.peak_reading_minutes[1]} minutes after dosing (BP peak)")
    within = timedelta(minutes=rules.discharge.last_reading_within_minutes)
    if not after or discharged_at - after[-1].measured_at > within:
        raise IllegalMove(f"cannot discharge: record vitals within the {rules.discharge.last_reading_within_minutes} "
                          "minutes before discharge first")
    return after[-1]


def _discharge_overrides(outside: list[str], request: DischargeRequest, act: Act) -> list[Override]:
    blocking = [code for code in outside if code not in DISCHARGE_OVERRIDABLE]
    if blocking:
        raise IllegalMove(f"cannot discharge: {', '.join(c.replace('_', ' ') for c in blocking)}")
    given = dict(request.overrides)
    for criterion in given:
        if criterion not in outside:
            raise InvalidField("overrides", "not_needed", f"{criterion!r} is not a criterion the last reading misses")
    missing = [code for code in outside if code not in given]
    if missing:
        raise IllegalMove(f"cannot discharge: the last reading is outside the discharge ranges "
                          f"({', '.join(c.replace('_', ' ') for c in missing)}); a doctor may override with a reason")
    if given and not request.by_doctor:
        raise IllegalMove("only a doctor can override a discharge criterion")
    return [Override("discharge", code, act.by, given[code], act.entered_at) for code in outside]
