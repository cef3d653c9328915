"""A treatment course (docs/clinical-rules.md §1 steps 4–7, §4–5): preparation and consent before the first dose,
the plan a doctor sets, extends, moves to maintenance or stops, and the non-response review. Pure: no I/O.

active (acute, then perhaps maintenance at a longer interval) → completed once every planned session and its
integration is done; or stopped early by a doctor (coded reason), or withdrawn with the enquiry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from clinicflow.sessions.acts import Act, check_charted_time, check_codes
from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.errors import IllegalMove, InvalidField


@dataclass(frozen=True)
class Preparation:
    """The preparation session before the first dose: who held it, what it covered, the client's safety plan (coded)."""

    act: Act
    topics: tuple[str, ...]
    safety_plan: tuple[str, ...]


@dataclass(frozen=True)
class Consent:
    """The client's written consent to the course: who recorded it, when it was signed, on which form."""

    act: Act
    form_version: str


@dataclass(frozen=True)
class Review:
    """A doctor's non-response review of the course: when it fell due, and their decision once made."""

    due_at: datetime
    decided: Act | None = None
    decision: str | None = None


@dataclass(frozen=True)
class Course:
    """A course of dosing sessions for one pathway."""

    id: uuid.UUID
    pathway_id: uuid.UUID
    status: str  # active | completed | stopped | withdrawn
    planned_sessions: int
    indications: tuple[str, ...]
    age_band: str | None
    baselines: dict[str, int]  # screening's baseline total per instrument
    started_at: datetime
    completed_at: datetime | None = None
    ended_reason: str | None = None  # why it was stopped or withdrawn (a code)
    stopped_by: str | None = None
    preparation: Preparation | None = None
    consent: Consent | None = None
    phase: str = "acute"  # acute | maintenance
    maintenance_interval_days: int | None = None
    review: Review | None = None

    def require_active(self) -> None:
        """Sessions are scheduled and checked only on an active course."""
        if self.status != "active":
            raise IllegalMove(f"the course is {self.status}")

    def check_room_for_session(self, sessions_going_ahead: int) -> None:
        """No more sessions than planned."""
        self.require_active()
        if sessions_going_ahead >= self.planned_sessions:
            raise IllegalMove(f"the course's {self.planned_sessions} planned sessions are already scheduled")

    def check_maintenance_interval(self, scheduled_at: datetime, others: list[datetime]) -> None:
        """In maintenance, sessions are at least the chosen interval apart."""
        if self.phase != "maintenance":
            return
        if self.maintenance_interval_days is None:
            raise IllegalMove("the course is in maintenance without an interval between sessions: a doctor sets it")
        gap = timedelta(days=self.maintenance_interval_days)
        if any(abs(scheduled_at - other) < gap for other in others):
            raise IllegalMove(f"in maintenance, sessions are at least {self.maintenance_interval_days} days apart")

    def plan(self, planned_sessions: int, *, counted: int, rules: SessionRules) -> Course:
        """A doctor sets how many sessions the acute course plans: from those already under way up to the maximum."""
        self.require_active()
        if self.phase != "acute":
            raise IllegalMove("the course is in maintenance: its plan is the maintenance plan")
        if planned_sessions > rules.planned_sessions.max:
            raise InvalidField("planned_sessions", "above_maximum",
                               f"a course plans at most {rules.planned_sessions.max} sessions")
        if planned_sessions < max(counted, 1):
            raise InvalidField("planned_sessions", "below_sessions_under_way",
                               f"{counted} sessions are already scheduled or done: stop the course to end it early")
        return replace(self, planned_sessions=planned_sessions)

    def move_to_maintenance(self, sessions: int, interval_days: int, *, counted: int, responder: bool,
                            rules: SessionRules) -> Course:
        """A responder's remaining sessions become maintenance sessions at a longer interval."""
        self.require_active()
        if self.phase == "maintenance":
            raise IllegalMove("the course is already in maintenance")
        if not responder:
            raise IllegalMove("only a client who has responded (on any instrument) moves to maintenance")
        if sessions > rules.maintenance.sessions_at_most:
            raise InvalidField("sessions", "above_maximum",
                               f"at most {rules.maintenance.sessions_at_most} maintenance sessions at a time")
        if interval_days < rules.maintenance.minimum_interval_days:
            raise InvalidField("interval_days", "too_short",
                               f"maintenance sessions are at least {rules.maintenance.minimum_interval_days} days "
                               "apart")
        return replace(self, phase="maintenance", maintenance_interval_days=interval_days,
                       planned_sessions=counted + sessions)

    def stop(self, reason: str, *, by: str, now: datetime, rules: SessionRules) -> Course:
        """A doctor ends the course early, with a coded reason."""
        self.require_active()
        check_codes("reason", [reason], rules.course_stop_reasons)
        return replace(self, status="stopped", completed_at=now, ended_reason=reason, stopped_by=by)

    def review_falls_due(self, now: datetime) -> Course:
        """The non-response review falls due (once per course)."""
        return self if self.review is not None else replace(self, review=Review(due_at=now))

    def record_review(self, decision: str, *, act: Act, rules: SessionRules) -> Course:
        """A doctor's decision on the non-response review (acting on it is a plan change or a stop of its own)."""
        if self.review is None:
            raise IllegalMove("no non-response review is due for this course")
        if self.review.decided is not None:
            raise IllegalMove(f"the review was already decided by {self.review.decided.by}")
        check_codes("decision", [decision], rules.review_decisions)
        return replace(self, review=replace(self.review, decided=act, decision=decision))

    def complete_if_done(self, *, logged_sessions: int, open_integrations: int, now: datetime) -> Course:
        """Completed once every planned session is logged and every integration done."""
        if self.status == "active" and logged_sessions >= self.planned_sessions and open_integrations == 0:
            return replace(self, status="completed", completed_at=now)
        return self

    def prepare(self, preparation: Preparation, *, rules: SessionRules) -> Course:
        """Record the preparation session (a later one replaces it); it must cover what to expect and a safety plan."""
        self.require_active()
        check_charted_time("held_at", preparation.act.at, now=preparation.act.entered_at, rules=rules)
        check_codes("topics", preparation.topics, rules.preparation_topics)
        check_codes("safety_plan", preparation.safety_plan, rules.safety_plan_items)
        if "what_to_expect" not in preparation.topics:
            raise InvalidField("topics", "what_to_expect_missing", "preparation covers what to expect")
        if not preparation.safety_plan:
            raise InvalidField("safety_plan", "missing", "preparation records the client's safety plan")
        return replace(self, preparation=preparation)

    def record_consent(self, consent: Consent, *, rules: SessionRules) -> Course:
        """Record the client's written consent to the course."""
        self.require_active()
        check_charted_time("signed_at", consent.act.at, now=consent.act.entered_at, rules=rules)
        return replace(self, consent=consent)

    def ready_for_a_dose_checked_at(self, at: datetime) -> tuple[bool, bool]:
        """Whether preparation and written consent were both recorded before a check at ``at``."""
        return (self.preparation is not None and self.preparation.act.at <= at,
                self.consent is not None and self.consent.act.at <= at)

    def withdraw(self, reason: str, *, now: datetime) -> Course:
        """The enquiry was closed or erased: the course ends (a completed or stopped course stays as it is)."""
        if self.status != "active":
            return self
        return replace(self, status="withdrawn", completed_at=now, ended_reason=reason)
