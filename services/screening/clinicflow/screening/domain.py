"""A screening case from the booked intake assessment to the doctor's sign-off (docs/clinical-rules.md §1 step 3).
Pure: no I/O.

open → signed_off (a doctor decided) or closed (the enquiry was closed or erased). Measures may be recorded while the
case is open or signed off (the same scoring follows the whole course); history and sign-off only while open.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from clinicflow.screening.contraindications import Proposal
from clinicflow.screening.rules import RuleSet
from clinicflow.shared.errors import IllegalMove, InvalidField


class CaseStatus(StrEnum):
    """Where a screening case stands."""

    OPEN = "open"
    SIGNED_OFF = "signed_off"
    CLOSED = "closed"


@dataclass(frozen=True)
class SignOff:
    """A doctor's decision on a case."""

    outcome: str  # eligible | ineligible
    doctor_id: str
    reason: str | None = None


@dataclass(frozen=True)
class ScreeningCase:
    """One pathway's screening."""

    pathway_id: uuid.UUID
    status: CaseStatus
    opened_at: datetime
    proposal: Proposal | None = None
    risk_review_required: bool = False
    risk_level: str | None = None  # the latest risk review's finding: low | moderate | high
    outcome: str | None = None
    overridden: bool = False
    override_reason: str | None = None
    signed_by: str | None = None
    signed_at: datetime | None = None
    closed_reason: str | None = None

    def require_not_closed(self) -> None:
        """Measures and flags need a case that is still part of the pathway."""
        if self.status is CaseStatus.CLOSED:
            raise IllegalMove("the screening case is closed")

    def _require_open(self, action: str) -> None:
        self.require_not_closed()
        if self.status is CaseStatus.SIGNED_OFF:
            raise IllegalMove(f"cannot {action}: the screening was already signed off")

    def flag_risk(self) -> ScreeningCase:
        """An urgent safety finding: a doctor must review risk before an eligible sign-off."""
        self.require_not_closed()
        return replace(self, risk_review_required=True)

    def review_risk(self, level: str) -> ScreeningCase:
        """A doctor recorded the risk review asked for by a safety flag, and what it found; a review that found high
        risk may be followed by another (that is how a doctor releases a course held for high risk)."""
        self.require_not_closed()
        if not self.risk_review_required and self.risk_level != "high":
            raise IllegalMove("no safety flag is waiting for a risk review")
        return replace(self, risk_review_required=False, risk_level=level)

    def record_history(self, proposal: Proposal) -> ScreeningCase:
        """Store the rules' proposal from the health history (a new history replaces the old)."""
        self._require_open("record the history")
        return replace(self, proposal=proposal)

    def sign_off(
        self, decision: SignOff, *, baseline_taken: set[str], required: set[str], now: datetime
    ) -> ScreeningCase:
        """The doctor's decision; refused without history, without the required baselines, or twice."""
        self._require_open("sign off")
        if self.proposal is None:
            raise IllegalMove("cannot sign off: the health history has not been recorded")
        missing = sorted(required - baseline_taken)
        if missing:
            raise IllegalMove(f"cannot sign off: baseline measures missing: {', '.join(missing)}")
        if decision.outcome == "eligible" and self.risk_review_required:
            raise IllegalMove("cannot sign off as eligible: a safety flag is waiting for a doctor's risk review")
        # A risk review that found high risk weighs like an absolute finding: eligible only as a reasoned override.
        high_risk = decision.outcome == "eligible" and self.risk_level == "high"
        if high_risk and not decision.reason:
            raise InvalidField("override_reason", "high_risk",
                               "the risk review found high risk: an eligible sign-off needs a written reason")
        against_proposal = self.proposal.outcome != "needs_review" and decision.outcome != self.proposal.outcome
        overridden = high_risk or against_proposal
        if (overridden or self.proposal.outcome == "needs_review") and not decision.reason:
            raise InvalidField("override_reason", "missing",
                               "a written reason is required to decide against or on review of the proposal")
        return replace(
            self, status=CaseStatus.SIGNED_OFF, outcome=decision.outcome, overridden=overridden,
            override_reason=decision.reason, signed_by=decision.doctor_id, signed_at=now,
        )

    def close(self, reason: str) -> ScreeningCase:
        """The enquiry was closed or erased upstream: the case ends (idempotent)."""
        if self.status is CaseStatus.CLOSED:
            return self
        return replace(self, status=CaseStatus.CLOSED, closed_reason=reason)


def required_baseline(concerns: tuple[str, ...], rules: RuleSet) -> set[str]:
    """Instruments a baseline must include: always PHQ-9 and GAD-7, plus those the person's concerns call for."""
    required = set(rules.required_baseline.get("always", ()))
    for concern in concerns:
        required |= set(rules.required_baseline.get(concern, ()))
    return required


@dataclass(frozen=True)
class Measure:
    """One recorded questionnaire with its score."""

    id: uuid.UUID
    pathway_id: uuid.UUID
    instrument: str
    answers: tuple[int, ...]
    total: int
    band: str
    flags: tuple[str, ...]
    context: str
    rule_set_version: str
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class RiskFlag:
    """An urgent safety finding waiting for, or given, a doctor's review."""

    alert_id: uuid.UUID
    reason: str
    severity: str
    measure_id: uuid.UUID | None
    raised_at: datetime
    acknowledged_by: str | None = None
    reviewed_by: str | None = None
    risk_level: str | None = None
