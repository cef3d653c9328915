"""A clinical act as charted: who did it, when it happened, when it was entered; the rule on charting late; and the
rule that coded entries come from the rule file's lists. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
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


def check_codes(field: str, codes: Iterable[str], known: Iterable[str]) -> None:
    """Every code entered in ``field`` is one of the rule file's ``known`` codes (422 naming the first that is not)."""
    unknown = sorted(set(codes) - set(known))
    if unknown:
        raise InvalidField(field, "unknown_code", f"unknown code {unknown[0]!r}")
