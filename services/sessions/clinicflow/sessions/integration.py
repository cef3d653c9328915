"""Integration therapy after each dosing session (docs/clinical-rules.md §5): when it falls due, and what the
therapist recorded. Pure: no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from clinicflow.sessions.acts import Act
from clinicflow.sessions.dosing_session import DosingSession, check_therapy_codes
from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.errors import IllegalMove, InvalidField


@dataclass(frozen=True)
class IntegrationOutcome:
    """What the therapist recorded (docs/clinical-rules.md §5): attended or not, coded themes, concerns for the
    team, and whether they flag a risk the supervising doctor must see."""

    attended: bool
    themes: tuple[str, ...] = ()
    concerns: tuple[str, ...] = ()
    risk_flag: bool = False


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
    cancelled_at: datetime | None = None
    outcome: IntegrationOutcome | None = None
    risk_review: Act | None = None
    risk_level: str | None = None

    def complete(self, outcome: IntegrationOutcome, *, therapist_id: str, now: datetime, rules: SessionRules
                 ) -> Integration:
        """The therapist recorded the integration session (a client who did not attend has no themes)."""
        if self.cancelled_at is not None:
            raise IllegalMove("the integration session was cancelled (the course was withdrawn)")
        if self.completed_at is not None:
            raise IllegalMove("the integration session was already recorded")
        check_therapy_codes(outcome.themes, outcome.concerns, rules)
        if not outcome.attended and outcome.themes:
            raise InvalidField("themes", "not_attended", "a session the client did not attend has no themes")
        if outcome.risk_flag and not outcome.attended:
            raise InvalidField("risk_flag", "not_attended", "a risk is flagged from a session the client attended; "
                                                            "for a client who did not attend, raise it with the doctor")
        return replace(self, completed_at=now, completed_by=therapist_id, outcome=outcome)

    def review_risk(self, level: str, *, act: Act) -> Integration:
        """A doctor reviewed the risk the therapist flagged: low or moderate releases the hold, high keeps it until
        a later review here finds less."""
        if self.outcome is None or not self.outcome.risk_flag:
            raise IllegalMove("no risk was flagged at this integration session")
        if self.risk_review is not None and self.risk_level != "high":
            raise IllegalMove(f"the flagged risk was already reviewed by {self.risk_review.by}")
        return replace(self, risk_review=act, risk_level=level)


def integration_after(session: DosingSession, rules: SessionRules) -> Integration:
    """The integration session a discharge makes due (default within 72 hours: docs/clinical-rules.md §5)."""
    discharged_at = session.discharged_at
    if discharged_at is None:
        raise IllegalMove("an integration session falls due only once the dosing session is discharged")
    return Integration(
        id=uuid.uuid4(), session_id=session.id, course_id=session.course_id, pathway_id=session.pathway_id,
        opens_at=discharged_at + timedelta(hours=rules.integration.opens_after_hours),
        due_by=discharged_at + timedelta(hours=rules.integration.due_within_hours),
    )
