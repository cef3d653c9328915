"""Dosing-session rules (docs/clinical-rules.md §2, §4–5) at their boundaries, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.sessions.domain import (
    Course,
    DischargeChecklist,
    DosingSession,
    SessionStatus,
    VitalsReading,
    integration_after,
    progress,
)
from clinicflow.sessions.monitoring import (
    Dose,
    DoseOrder,
    PreDoseCheck,
    Vitals,
    breached_thresholds,
    check_dose,
    pre_dose_deferral_reasons,
)
from clinicflow.sessions.rules import load_rules
from clinicflow.shared.errors import IllegalMove, InvalidField

RULES = load_rules()
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
CALM = Vitals(125, 80, 72, 98, 5)


def check(systolic=120, diastolic=80, escort=True, interacting=False) -> PreDoseCheck:  # noqa: ANN001
    return PreDoseCheck(Vitals(systolic, diastolic, 70, 98), 70.0, escort, interacting)


@pytest.mark.parametrize(("bp", "band", "deferred"), [
    ((140, 90), "35-44", False), ((141, 90), "35-44", True), ((140, 91), "35-44", True),
    ((150, 90), "65-74", False), ((151, 90), "75+", True), ((150, 91), "65-74", True),
])
def test_pre_dose_blood_pressure_guide_is_age_aware(bp, band, deferred):
    reasons = pre_dose_deferral_reasons(check(*bp), age_band=band, rules=RULES)
    assert ("pre_dose_bp_above_guide" in reasons) is deferred


def test_no_escort_and_new_interacting_medicines_defer_too():
    assert pre_dose_deferral_reasons(check(escort=False, interacting=True), age_band="35-44", rules=RULES) == [
        "no_escort_confirmed", "interacting_medicines_since_last_session"]


@pytest.mark.parametrize(("vitals", "breached"), [
    (Vitals(180, 110, 130, 92, 3), []),
    (Vitals(181, 80, 70, 98, 5), ["systolic_above_180"]),
    (Vitals(89, 60, 70, 98, 5), ["systolic_below_90"]),
    (Vitals(90, 111, 70, 98, 5), ["diastolic_above_110"]),
    (Vitals(120, 80, 131, 98, 5), ["heart_rate_above_130"]),
    (Vitals(120, 80, 49, 98, 5), ["heart_rate_below_50"]),
    (Vitals(120, 80, 50, 91, 5), ["spo2_below_92"]),
    (Vitals(120, 80, 70, 98, 2), ["moaas_at_or_below_2"]),
    (Vitals(190, 120, 140, 88, 1), ["systolic_above_180", "diastolic_above_110", "heart_rate_above_130",
                                    "spo2_below_92", "moaas_at_or_below_2"]),
])
def test_in_session_alert_thresholds_at_their_boundaries(vitals, breached):
    assert breached_thresholds(vitals, RULES) == breached


@pytest.mark.parametrize(("route", "mg_per_kg", "within"), [
    ("iv", 0.1, True), ("iv", 0.5, True), ("iv", 0.75, True), ("iv", 0.76, False), ("iv", 0.09, False),
    ("im", 0.3, True), ("im", 1.0, True), ("im", 1.01, False), ("im", 0.29, False),
])
def test_weight_based_doses_against_the_route_range(route, mg_per_kg, within):
    order = DoseOrder(route, mg_per_kg, None)
    if within:
        dose = check_dose(order, weight_kg=80, age_band="35-44", first_session=False, rules=RULES)
        assert (dose.mg, dose.weight_kg, dose.within_protocol) == (round(mg_per_kg * 80, 1), 80, True)
    else:
        with pytest.raises(InvalidField) as refused:
            check_dose(order, weight_kg=80, age_band="35-44", first_session=False, rules=RULES)
        assert refused.value.kind == "outside_protocol"


def test_a_dose_outside_the_range_goes_ahead_only_with_the_doctors_reason():
    dose = check_dose(DoseOrder("iv", 0.9, None, "treatment-resistant; discussed with lead"), weight_kg=60,
                      age_band="35-44", first_session=False, rules=RULES)
    assert (dose.mg, dose.within_protocol, dose.override_reason is not None) == (54.0, False, True)


@pytest.mark.parametrize(("mg", "band", "first", "within"), [
    (56, "35-44", True, True), (84, "35-44", True, False), (84, "35-44", False, True), (28, "35-44", False, False),
    (28, "65-74", True, True), (70, "35-44", False, False),
])
def test_intranasal_esketamine_fixed_doses(mg, band, first, within):
    order = DoseOrder("intranasal", None, mg)
    if within:
        assert check_dose(order, weight_kg=70, age_band=band, first_session=first, rules=RULES).mg == mg
    else:
        with pytest.raises(InvalidField):
            check_dose(order, weight_kg=70, age_band=band, first_session=first, rules=RULES)


def test_the_dose_form_must_match_the_route():
    with pytest.raises(InvalidField, match="weight-based"):
        check_dose(DoseOrder("iv", None, 35), weight_kg=70, age_band=None, first_session=False, rules=RULES)
    with pytest.raises(InvalidField, match="fixed"):
        check_dose(DoseOrder("intranasal", 0.5, None), weight_kg=70, age_band=None, first_session=False, rules=RULES)


@pytest.mark.parametrize(("baseline", "latest", "response", "remission"), [
    (20, 10, True, False), (20, 11, False, False), (20, 4, True, True), (10, 5, True, False), (12, 4, True, True),
    (9, 2, None, None),
])
def test_response_is_a_halving_and_remission_below_5_only_from_a_baseline_of_10(baseline, latest, response, remission):
    figures = progress(baseline, latest)
    assert (figures.response, figures.remission) == (response, remission)
    assert figures.change_percent == round((latest - baseline) / baseline * 100, 1)


def session(status=SessionStatus.SCHEDULED, **changes) -> DosingSession:  # noqa: ANN001
    return DosingSession(id=uuid.uuid4(), course_id=uuid.uuid4(), pathway_id=uuid.uuid4(), status=status,
                         scheduled_at=NOW, **changes)


def test_a_deferral_stands_unless_a_doctor_overrides_with_a_reason():
    assert session().check_before_dosing(check(150), ["pre_dose_bp_above_guide"], override_reason=None,
                                         by_doctor=True, rules=RULES).status is SessionStatus.DEFERRED
    assert session().check_before_dosing(check(150), ["pre_dose_bp_above_guide"], override_reason="repeat 138/86",
                                         by_doctor=True, rules=RULES).status is SessionStatus.READY
    with pytest.raises(IllegalMove, match="doctor"):
        session().check_before_dosing(check(150), ["x"], override_reason="r", by_doctor=False, rules=RULES)


IV = Dose("iv", 35.0, 0.5, 70.0, True, None)
ALL_TICKED = DischargeChecklist(*([True] * 7))


def dosed(minutes_ago: int) -> DosingSession:
    return session(SessionStatus.DOSED, dose=IV, dosed_at=NOW - timedelta(minutes=minutes_ago))


def readings(*minutes_after_dose: int, dosed_minutes_ago: int = 125, last=CALM) -> list[VitalsReading]:  # noqa: ANN001
    start = NOW - timedelta(minutes=dosed_minutes_ago)
    out = [VitalsReading(CALM, start + timedelta(minutes=m)) for m in minutes_after_dose]
    return out[:-1] + [VitalsReading(last, out[-1].measured_at)]


def discharge(s: DosingSession, rs: list[VitalsReading], checklist=ALL_TICKED) -> DosingSession:  # noqa: ANN001
    return s.discharge(checklist, readings=rs, clinician_id="cl-1", session_number=1, adverse_event_codes=(),
                       rules=RULES, now=NOW)


def test_discharge_before_120_minutes_is_refused_and_at_120_allowed():
    with pytest.raises(IllegalMove, match="119 of 120 minutes"):
        discharge(dosed(119), readings(40, 110, dosed_minutes_ago=119))
    assert discharge(dosed(120), readings(40, 115, dosed_minutes_ago=120)).status is SessionStatus.DISCHARGED


def test_discharge_needs_the_40_minute_and_pre_discharge_readings_back_in_range():
    with pytest.raises(IllegalMove, match="30–60 minutes"):
        discharge(dosed(125), readings(20, 120))
    with pytest.raises(IllegalMove, match="pre-discharge"):
        discharge(dosed(125), readings(40, 80))
    with pytest.raises(IllegalMove, match="out of range"):
        discharge(dosed(125), readings(40, 120, last=Vitals(185, 80, 70, 98, 5)))
    with pytest.raises(IllegalMove, match="MOAA/S"):
        discharge(dosed(125), readings(40, 120, last=Vitals(125, 80, 70, 98, 4)))


def test_discharge_needs_every_checklist_item():
    with pytest.raises(InvalidField) as unticked:
        discharge(dosed(125), readings(40, 120), DischargeChecklist(True, True, False, True, True, True, True))
    assert unticked.value.field == "checklist.escort_present"


@pytest.mark.parametrize(("status", "move"), [
    (SessionStatus.SCHEDULED, lambda s: s.give(IV, at=NOW, now=NOW)),
    (SessionStatus.DEFERRED, lambda s: s.give(IV, at=NOW, now=NOW)),
    (SessionStatus.READY, lambda s: discharge(s, readings(40, 120))),
    (SessionStatus.DISCHARGED, lambda s: s.check_vitals_allowed(NOW, NOW)),
    (SessionStatus.DOSED, lambda s: s.check_before_dosing(check(), [], override_reason=None, by_doctor=True,
                                                          rules=RULES)),
])
def test_illegal_moves_are_refused(status, move):
    with pytest.raises(IllegalMove):
        move(session(status))


def test_charted_times_cannot_be_in_the_future_or_long_past():
    ready = session(SessionStatus.READY)
    with pytest.raises(InvalidField, match="future"):
        ready.give(IV, at=NOW + timedelta(minutes=1), now=NOW)
    with pytest.raises(InvalidField, match="12 hours"):
        ready.give(IV, at=NOW - timedelta(hours=13), now=NOW)


def test_integration_falls_due_within_72_hours_of_discharge():
    discharged = discharge(dosed(125), readings(40, 120))
    integration = integration_after(discharged, RULES)
    assert (integration.opens_at, integration.due_by) == (NOW, NOW + timedelta(hours=72))
    with pytest.raises(IllegalMove):
        integration.complete(therapist_id="t", now=NOW).complete(therapist_id="t", now=NOW)


def test_a_course_completes_when_every_planned_session_and_integration_is_done():
    course = Course(uuid.uuid4(), uuid.uuid4(), "active", 6, ("depression",), None, 18, None, NOW)
    assert course.complete_if_done(logged_sessions=5, open_integrations=0, now=NOW) is course
    assert course.complete_if_done(logged_sessions=6, open_integrations=1, now=NOW) is course
    assert course.complete_if_done(logged_sessions=6, open_integrations=0, now=NOW).status == "completed"
    with pytest.raises(IllegalMove, match="6 planned"):
        course.check_room_for_session(6)
