"""A course: preparation and consent, the plan a doctor sets, extends, moves to maintenance or stops, the
non-response review, completion; and integration's outcome and risk flag (docs/clinical-rules.md §4–5)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.sessions.acts import Act
from clinicflow.sessions.course import Consent, Course, Preparation
from clinicflow.sessions.integration import Integration, IntegrationOutcome
from clinicflow.sessions.rules import load_rules
from clinicflow.shared.errors import IllegalMove, InvalidField

RULES = load_rules()
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def course(**changes) -> Course:  # noqa: ANN003
    return replace(Course(uuid.uuid4(), uuid.uuid4(), "active", 6, ("depression",), "35-44", {"phq9": 20}, NOW),
                   **changes)


def test_a_withdrawn_course_takes_no_more_sessions():
    withdrawn = course().withdraw("declined", now=NOW)
    assert (withdrawn.status, withdrawn.ended_reason) == ("withdrawn", "declined")
    with pytest.raises(IllegalMove, match="withdrawn"):
        withdrawn.check_room_for_session(0)
    assert course(status="completed").withdraw("declined", now=NOW).status == "completed"


def test_a_course_completes_when_every_planned_session_and_integration_is_done():
    assert course().complete_if_done(logged_sessions=6, open_integrations=1, now=NOW).status == "active"
    assert course().complete_if_done(logged_sessions=6, open_integrations=0, now=NOW).status == "completed"
    with pytest.raises(IllegalMove, match="planned sessions"):
        course().check_room_for_session(6)


@pytest.mark.parametrize(("planned", "counted", "error"), [
    (8, 0, None), (9, 0, "above_maximum"), (6, 6, None), (5, 6, "below_sessions_under_way"), (0, 0,
                                                                                            "below_sessions_under_way"),
])
def test_a_doctor_plans_up_to_the_maximum_never_below_the_sessions_under_way(planned, counted, error):
    if error is None:
        assert course().plan(planned, counted=counted, rules=RULES).planned_sessions == planned
        return
    with pytest.raises(InvalidField) as refused:
        course().plan(planned, counted=counted, rules=RULES)
    assert refused.value.kind == error


def test_only_a_responder_moves_to_maintenance_at_a_longer_interval():
    with pytest.raises(IllegalMove, match="responded"):
        course().move_to_maintenance(2, 14, counted=5, responder=False, rules=RULES)
    maintained = course().move_to_maintenance(2, 14, counted=5, responder=True, rules=RULES)
    assert (maintained.phase, maintained.planned_sessions, maintained.maintenance_interval_days) == (
        "maintenance", 7, 14)
    with pytest.raises(InvalidField) as too_short:
        course().move_to_maintenance(2, 13, counted=5, responder=True, rules=RULES)
    assert too_short.value.field == "interval_days"
    with pytest.raises(InvalidField) as too_many:
        course().move_to_maintenance(7, 14, counted=5, responder=True, rules=RULES)
    assert too_many.value.field == "sessions"
    with pytest.raises(IllegalMove, match="maintenance"):
        maintained.plan(8, counted=5, rules=RULES)
    maintained.check_maintenance_interval(NOW + timedelta(days=14), [NOW])
    with pytest.raises(IllegalMove, match="14 days"):
        maintained.check_maintenance_interval(NOW + timedelta(days=13, hours=23), [NOW])
    course().check_maintenance_interval(NOW + timedelta(days=2), [NOW])  # the acute course is not held to it


def test_a_stopped_course_has_a_coded_reason_and_takes_no_more_sessions():
    stopped = course().stop("non_response", by="dr-1", now=NOW, rules=RULES)
    assert (stopped.status, stopped.ended_reason, stopped.stopped_by) == ("stopped", "non_response", "dr-1")
    with pytest.raises(IllegalMove, match="stopped"):
        stopped.check_room_for_session(0)
    with pytest.raises(IllegalMove):
        stopped.plan(8, counted=3, rules=RULES)
    with pytest.raises(InvalidField):
        course().stop("bored", by="dr-1", now=NOW, rules=RULES)
    assert stopped.withdraw("declined", now=NOW) is stopped


def test_the_non_response_review_falls_due_once_and_is_decided_once():
    with pytest.raises(IllegalMove, match="no non-response review"):
        course().record_review("continue", act=Act("dr-1", NOW, NOW), rules=RULES)
    due = course().review_falls_due(NOW)
    assert due.review_falls_due(NOW + timedelta(days=1)).review.due_at == NOW
    decided = due.record_review("change_route_or_dose", act=Act("dr-1", NOW, NOW), rules=RULES)
    assert (decided.review.decision, decided.review.decided.by) == ("change_route_or_dose", "dr-1")
    with pytest.raises(IllegalMove, match="already decided"):
        decided.record_review("stop", act=Act("dr-2", NOW, NOW), rules=RULES)
    with pytest.raises(InvalidField):
        due.record_review("shrug", act=Act("dr-1", NOW, NOW), rules=RULES)


PREPARATION = Preparation(Act("th-1", NOW - timedelta(hours=2), NOW), ("what_to_expect", "no_driving"),
                          ("warning_signs", "crisis_line"))


def test_preparation_covers_what_to_expect_and_a_coded_safety_plan():
    prepared = course().prepare(PREPARATION, rules=RULES)
    assert prepared.preparation.safety_plan == ("warning_signs", "crisis_line")
    for changes, field in [({"topics": ("no_driving",)}, "topics"), ({"safety_plan": ()}, "safety_plan"),
                           ({"safety_plan": ("a_hug",)}, "safety_plan"), ({"topics": ("tarot",)}, "topics")]:
        with pytest.raises(InvalidField) as error:
            course().prepare(replace(PREPARATION, **changes), rules=RULES)
        assert error.value.field == field


def test_preparation_and_consent_count_only_when_recorded_before_the_check():
    consent = Consent(Act("cl-1", NOW - timedelta(hours=1), NOW), "consent-form-2026.1")
    ready = course().prepare(PREPARATION, rules=RULES).record_consent(consent, rules=RULES)
    assert ready.ready_for_a_dose_checked_at(NOW) == (True, True)
    assert ready.ready_for_a_dose_checked_at(NOW - timedelta(minutes=90)) == (True, False)
    assert course().ready_for_a_dose_checked_at(NOW) == (False, False)
    with pytest.raises(IllegalMove):
        course(status="withdrawn").record_consent(consent, rules=RULES)


def integration() -> Integration:
    return Integration(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), NOW, NOW + timedelta(hours=72))


def test_integration_records_attendance_coded_themes_and_concerns_once():
    outcome = IntegrationOutcome(True, ("insight",), ("persisting_distress",))
    done = integration().complete(outcome, therapist_id="th-1", now=NOW, rules=RULES)
    assert (done.outcome, done.completed_by) == (outcome, "th-1")
    with pytest.raises(IllegalMove, match="already recorded"):
        done.complete(outcome, therapist_id="th-1", now=NOW, rules=RULES)
    for bad, field in [(IntegrationOutcome(True, ("astrology",)), "themes"),
                       (IntegrationOutcome(True, (), ("vibes",)), "concerns"),
                       (IntegrationOutcome(False, ("insight",)), "themes"),
                       (IntegrationOutcome(False, (), (), True), "risk_flag")]:
        with pytest.raises(InvalidField) as error:
            integration().complete(bad, therapist_id="th-1", now=NOW, rules=RULES)
        assert error.value.field == field


def test_a_flagged_risk_is_reviewed_by_a_doctor_and_high_risk_may_be_reviewed_again():
    quiet = integration().complete(IntegrationOutcome(True), therapist_id="th-1", now=NOW, rules=RULES)
    with pytest.raises(IllegalMove, match="no risk was flagged"):
        quiet.review_risk("low", act=Act("dr-1", NOW, NOW))
    flagged = integration().complete(IntegrationOutcome(True, (), ("self_harm",), True), therapist_id="th-1", now=NOW,
                                     rules=RULES)
    high = flagged.review_risk("high", act=Act("dr-1", NOW, NOW))
    low = high.review_risk("low", act=Act("dr-2", NOW, NOW))
    assert (low.risk_level, low.risk_review.by) == ("low", "dr-2")
    with pytest.raises(IllegalMove, match="already reviewed"):
        low.review_risk("moderate", act=Act("dr-1", NOW, NOW))
