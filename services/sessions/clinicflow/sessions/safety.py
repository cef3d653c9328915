"""What stands between a client and their next dose beyond the session itself (docs/clinical-rules.md §4–5): the
safety hold from risk findings (screening's item-9 flags and risk reviews, a therapist's flag at integration, a
doctor's review of it), and the limits between doses. Pure: no I/O; times are passed in.

Screening's risk events reach sessions on two topics, so they may arrive in either order; the hold is therefore
worked out from the times stamped on the findings, never from the order they arrived in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RiskFinding:
    """A safety flag (``level`` None; ``reason`` its code) or a doctor's risk review (low, moderate or high)."""

    at: datetime
    level: str | None = None
    reason: str | None = None


FLAGGED_BY = {"phq9_item9_self_harm_thoughts": "a PHQ-9 item-9 answer",
              "integration_risk": "the therapist's flag at integration"}


def safety_hold(findings: Iterable[RiskFinding]) -> str | None:
    """Why the course is on hold, or None. A review covers every flag raised before it; a review that found high risk
    holds the course until a later review finds less."""
    findings = list(findings)
    reviews = sorted((f for f in findings if f.level is not None), key=lambda f: f.at)
    latest = reviews[-1] if reviews else None
    if latest is not None and latest.level == "high":
        return "a risk review found high risk: a doctor must release the course with a new risk review"
    open_flags = sorted((f for f in findings if f.level is None and (latest is None or f.at > latest.at)),
                        key=lambda f: f.at)
    if open_flags:
        reason = open_flags[-1].reason or "screening"
        return (f"a safety flag is open ({FLAGGED_BY.get(reason, reason)}): a doctor must review risk before the "
                "next dose")
    return None


def dose_conflict(given_at: datetime, other_doses: Iterable[datetime], *, zone: ZoneInfo,
                  minimum_hours: float) -> str | None:
    """Why a dose at ``given_at`` may not be given beside the client's other doses, or None: one dose per calendar
    day in the clinic's time zone, and at least ``minimum_hours`` between doses."""
    day = given_at.astimezone(zone).date()
    for other in other_doses:
        if other.astimezone(zone).date() == day:
            return "the client already had a dose on this calendar day"
        if abs(given_at - other) < timedelta(hours=minimum_hours):
            return f"doses must be at least {minimum_hours:g} hours apart"
    return None
