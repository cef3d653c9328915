"""A clinical act as charted: who did it, when it happened, when it was entered; and the rule on charting late.
Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.errors import InvalidField


@dataclass(frozen=True)
class Act:
    """A clinical act: the member of staff who did it, when it happened, and when it was entered."""

    by: str
    at: datetime
    entered_at: datetime


def check_charted_time(field: str, at: datetime, *, now: datetime, rules: SessionRules) -> None:
    """A clinical time is never in the future, nor older than the charting window (late entries are fine)."""
    if at > now:
        raise InvalidField(field, "future_time", "a clinical step cannot be charted in the future")
    if now - at > timedelta(hours=rules.charting_window_hours):
        raise InvalidField(field, "too_old", f"charting more than {rules.charting_window_hours:g} hours after the "
                                             "fact is not allowed here: record it in the clinical notes")
