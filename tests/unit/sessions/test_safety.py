"""The safety hold from screening's risk findings, worked out from their times whatever order they arrived in, and
the limits between doses (docs/clinical-rules.md §4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import permutations
from zoneinfo import ZoneInfo

import pytest

from clinicflow.sessions.safety import RiskFinding, dose_conflict, safety_hold

T = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
FLAG = RiskFinding(T)
LONDON = ZoneInfo("Europe/London")


def after(minutes: int, level: str | None = None) -> RiskFinding:
    return RiskFinding(T + timedelta(minutes=minutes), level)


@pytest.mark.parametrize(("findings", "held"), [
    ([], False),
    ([FLAG], True),
    ([FLAG, after(10, "low")], False),
    ([FLAG, after(10, "moderate")], False),
    ([after(-10, "low"), FLAG], True),  # a flag after the last review waits for a new one
    ([FLAG, after(10, "high")], True),
    ([FLAG, after(10, "high"), after(20, "low")], False),  # a later review releases it
    ([FLAG, after(10, "low"), after(20, "high")], True),
    ([FLAG, after(0, "low")], False),  # a review covers a flag raised at the same moment
])
def test_the_hold_follows_the_latest_review_and_any_flag_after_it_in_any_arrival_order(findings, held):
    for order in permutations(findings):
        assert (safety_hold(order) is not None) is held


def test_the_hold_says_why():
    assert "item-9" in safety_hold([replace(FLAG, reason="phq9_item9_self_harm_thoughts")])
    assert "integration" in safety_hold([replace(FLAG, reason="integration_risk")])
    assert "a safety flag is open" in safety_hold([FLAG])
    assert "high risk" in safety_hold([FLAG, after(5, "high")])


@pytest.mark.parametrize(("hours", "conflict"), [(47.99, True), (48, False), (-47.99, True), (-48, False)])
def test_doses_of_a_course_are_at_least_48_hours_apart(hours, conflict):
    other = T + timedelta(hours=hours)
    assert (dose_conflict(T, [other], zone=LONDON, minimum_hours=48) is not None) is conflict


def test_one_dose_per_calendar_day_in_the_clinics_time_zone():
    # 23:30 and 00:30 UTC are one day in London in summer (00:30 and 01:30 BST), two days in November (GMT).
    summer, winter = datetime(2026, 6, 1, 23, 30, tzinfo=UTC), datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    assert dose_conflict(summer, [summer + timedelta(hours=1)], zone=LONDON, minimum_hours=0) == \
        "the client already had a dose on this calendar day"
    assert dose_conflict(winter, [winter + timedelta(hours=1)], zone=LONDON, minimum_hours=0) is None
