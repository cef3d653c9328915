"""Outcomes on every instrument (docs/clinical-rules.md §2, §5): response and remission at, just inside and just
outside each boundary, deterioration, and when the non-response review falls due."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.sessions.outcomes import (
    CourseMeasure,
    course_progress,
    deterioration,
    instrument_progress,
    non_response_review_due,
)
from clinicflow.sessions.rules import load_rules

OUTCOMES = load_rules().outcomes
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def measures(instrument: str, *totals_after_sessions: tuple[int, int]) -> list[CourseMeasure]:
    return [CourseMeasure(uuid.uuid4(), instrument, total, START + timedelta(days=n), after)
            for n, (total, after) in enumerate(totals_after_sessions)]


@pytest.mark.parametrize(("instrument", "baseline", "latest", "response", "remission"), [
    # PHQ-9: response is a fall of 50 % or more, remission below 5, both only from a baseline of 10
    ("phq9", 20, 10, True, False), ("phq9", 20, 11, False, False), ("phq9", 20, 4, True, True),
    ("phq9", 20, 5, True, False), ("phq9", 10, 5, True, False), ("phq9", 9, 2, None, None),
    ("phq9", 11, 5, True, False), ("phq9", 11, 6, False, False),
    # GAD-7: remission below 5, from a baseline of 10
    ("gad7", 15, 4, True, True), ("gad7", 15, 5, True, False), ("gad7", 15, 8, False, False),
    ("gad7", 9, 0, None, None),
    # PCL-5: remission below the cut-off (33), only from a baseline at or above it
    ("pcl5", 60, 32, False, True), ("pcl5", 60, 33, False, False), ("pcl5", 60, 30, True, True),
    ("pcl5", 33, 16, True, True), ("pcl5", 32, 0, None, None),
    # pain NRS: remission at 3 or less, from a baseline of 4 (moderate)
    ("pain_nrs", 8, 3, True, True), ("pain_nrs", 8, 4, True, False), ("pain_nrs", 8, 5, False, False),
    ("pain_nrs", 10, 6, False, False), ("pain_nrs", 4, 2, True, True), ("pain_nrs", 4, 3, False, True),
    ("pain_nrs", 3, 0, None, None),
])
def test_response_and_remission_per_instrument_at_and_beside_each_boundary(instrument, baseline, latest, response,
                                                                            remission):
    progress = instrument_progress(instrument, baseline, measures(instrument, (latest, 1)), OUTCOMES)
    assert (progress.response, progress.remission) == (response, remission)


def test_the_trajectory_keeps_every_measure_in_time_order_and_latest_is_the_baseline_until_one_is_taken():
    taken = measures("gad7", (14, 1), (11, 2), (6, 4))
    progress = course_progress({"phq9": 20, "gad7": 16}, list(reversed(taken)), OUTCOMES)
    assert [m.total for m in progress["gad7"].trajectory] == [14, 11, 6]
    assert (progress["gad7"].latest, progress["gad7"].change, progress["gad7"].change_percent) == (6, -10, -62.5)
    assert (progress["phq9"].latest, progress["phq9"].trajectory) == (20, ())


@pytest.mark.parametrize(("latest", "deteriorated"), [(15, True), (14, False), (16, True)])
def test_phq9_up_five_from_baseline_is_deterioration(latest, deteriorated):
    progress = instrument_progress("phq9", 10, measures("phq9", (latest, 2)), OUTCOMES)
    assert deterioration(progress, OUTCOMES) is deteriorated


def test_only_instruments_with_a_deterioration_rule_deteriorate():
    assert not deterioration(instrument_progress("gad7", 5, measures("gad7", (21, 2)), OUTCOMES), OUTCOMES)


@pytest.mark.parametrize(("latest", "after_session", "due"), [
    (15, 4, False),  # fallen exactly 25 %: not due
    (16, 4, True),   # fallen 20 %: due
    (16, 3, False),  # before session 4 has been logged
    (21, 5, True),   # worse, later
])
def test_the_non_response_review_falls_due_after_session_4_when_phq9_has_fallen_less_than_25_percent(
        latest, after_session, due):
    progress = instrument_progress("phq9", 20, measures("phq9", (latest, after_session)), OUTCOMES)
    assert non_response_review_due(progress, OUTCOMES) is due


def test_no_non_response_review_from_a_baseline_too_low_to_judge():
    progress = instrument_progress("phq9", 8, measures("phq9", (8, 4)), OUTCOMES)
    assert not non_response_review_due(progress, OUTCOMES)
