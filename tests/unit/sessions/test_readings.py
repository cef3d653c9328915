"""What a dosing session's readings mean (docs/clinical-rules.md §4): pre-dose deferral reasons, alarm limits and
discharge ranges, each at, just inside and just outside its boundary."""

from __future__ import annotations

import pytest

from clinicflow.sessions.monitoring import (
    PreDoseCheck,
    Standing,
    Vitals,
    breached_thresholds,
    outside_discharge_ranges,
    pre_dose_deferral_reasons,
)
from clinicflow.sessions.rules import load_rules

RULES = load_rules()
CALM = {"systolic": 120, "diastolic": 80, "heart_rate": 70, "spo2": 98, "respiratory_rate": 14}


def reasons(band: str = "35-44", standing: Standing = Standing(), **changes) -> list[str]:  # noqa: ANN003
    vitals = {k: changes.pop(k) for k in list(changes) if k in CALM}
    flags = {"escort_confirmed": True, "interacting_medicines_since_last": False, "alcohol_or_drugs_last_24h": False,
             "fasted_as_instructed": True, "pregnancy_excluded": True, "consent_reconfirmed": True} | changes
    check = PreDoseCheck(Vitals(**(CALM | vitals)), 70.0, **flags)
    return pre_dose_deferral_reasons(check, age_band=band, standing=standing, rules=RULES)


def test_a_calm_client_with_everything_in_order_goes_ahead():
    assert reasons() == []


@pytest.mark.parametrize(("bp", "band", "deferred"), [
    ((140, 90), "35-44", False), ((141, 90), "35-44", True), ((140, 91), "35-44", True),
    ((150, 90), "65-74", False), ((151, 90), "75+", True), ((150, 91), "65-74", True),
    ((145, 85), "55-64", True),
])
def test_blood_pressure_above_the_guide_defers_and_the_guide_is_age_aware(bp, band, deferred):
    assert ("pre_dose_bp_above_guide" in reasons(band, systolic=bp[0], diastolic=bp[1])) is deferred


@pytest.mark.parametrize(("changes", "code", "deferred"), [
    ({"systolic": 90, "diastolic": 60}, "pre_dose_bp_below_range", False),
    ({"systolic": 89}, "pre_dose_bp_below_range", True),
    ({"diastolic": 59}, "pre_dose_bp_below_range", True),
    ({"heart_rate": 50}, "pre_dose_heart_rate_low", False),
    ({"heart_rate": 49}, "pre_dose_heart_rate_low", True),
    ({"heart_rate": 110}, "pre_dose_heart_rate_high", False),
    ({"heart_rate": 111}, "pre_dose_heart_rate_high", True),
    ({"spo2": 95}, "pre_dose_spo2_low", False),
    ({"spo2": 94}, "pre_dose_spo2_low", True),
    ({"respiratory_rate": 10}, "pre_dose_respiratory_rate_low", False),
    ({"respiratory_rate": 9}, "pre_dose_respiratory_rate_low", True),
    ({"respiratory_rate": 24}, "pre_dose_respiratory_rate_high", False),
    ({"respiratory_rate": 25}, "pre_dose_respiratory_rate_high", True),
])
def test_low_pressure_heart_rate_oxygen_and_breathing_outside_the_pre_dose_ranges_defer(changes, code, deferred):
    assert (code in reasons(**changes)) is deferred


@pytest.mark.parametrize(("changes", "code"), [
    ({"escort_confirmed": False}, "no_escort_confirmed"),
    ({"interacting_medicines_since_last": True}, "interacting_medicines_since_last_session"),
    ({"alcohol_or_drugs_last_24h": True}, "alcohol_or_drugs_last_24h"),
    ({"fasted_as_instructed": False}, "not_fasted"),
    ({"pregnancy_excluded": False}, "pregnancy_not_excluded"),
    ({"consent_reconfirmed": False}, "consent_not_reconfirmed"),
])
def test_each_thing_the_nurse_asks_about_defers_on_its_own(changes, code):
    assert reasons(**changes) == [code]


def test_no_dose_without_a_recorded_preparation_session_and_written_consent():
    assert reasons(standing=Standing(prepared=False, consented=False)) == [
        "no_preparation_session", "no_written_consent"]


def test_a_safety_hold_and_an_unreviewed_adverse_event_defer_too():
    assert reasons(standing=Standing(safety_hold=True, unreviewed_adverse_event=True)) == [
        "unreviewed_adverse_event", "safety_hold"]


def test_every_reason_is_given_not_only_the_first():
    assert reasons(systolic=150, heart_rate=120, escort_confirmed=False) == [
        "pre_dose_bp_above_guide", "pre_dose_heart_rate_high", "no_escort_confirmed"]


@pytest.mark.parametrize(("changes", "breached"), [
    ({"systolic": 180, "diastolic": 110, "heart_rate": 130, "spo2": 92, "respiratory_rate": 24, "moaas": 3}, []),
    ({"heart_rate": 50, "respiratory_rate": 10, "systolic": 90}, []),
    ({"systolic": 181}, ["systolic_above_180"]),
    ({"systolic": 89}, ["systolic_below_90"]),
    ({"diastolic": 111}, ["diastolic_above_110"]),
    ({"heart_rate": 131}, ["heart_rate_above_130"]),
    ({"heart_rate": 49}, ["heart_rate_below_50"]),
    ({"spo2": 91}, ["spo2_below_92"]),
    ({"respiratory_rate": 25}, ["respiratory_rate_above_24"]),
    ({"respiratory_rate": 9}, ["respiratory_rate_below_10"]),
    ({"moaas": 2}, ["moaas_at_or_below_2"]),
    ({"respiratory_rate": None, "moaas": None}, []),
])
def test_alarm_limits_at_their_boundaries(changes, breached):
    assert breached_thresholds(Vitals(**(CALM | changes)), RULES) == breached


@pytest.mark.parametrize(("changes", "outside"), [
    ({"systolic": 160, "diastolic": 100, "heart_rate": 110, "spo2": 94}, []),
    ({"heart_rate": 50}, []),
    ({"systolic": 161}, ["discharge_bp_above_range"]),
    ({"diastolic": 101}, ["discharge_bp_above_range"]),
    ({"heart_rate": 111}, ["discharge_heart_rate_outside_range"]),
    ({"heart_rate": 49}, ["discharge_heart_rate_outside_range"]),
    ({"spo2": 93}, ["discharge_spo2_below_range"]),
    ({"moaas": 4}, ["discharge_sedation_not_resolved"]),
    ({"cadss": (1, 1, 1, 0, 0, 0)}, ["discharge_dissociation_not_resolved"]),
    ({"cadss": None}, ["discharge_dissociation_not_resolved"]),
])
def test_discharge_ranges_are_stricter_than_the_alarm_limits(changes, outside):
    vitals = Vitals(**(CALM | {"moaas": 5, "cadss": (1, 1, 0, 0, 0, 0)} | changes))
    assert outside_discharge_ranges(vitals, RULES) == outside
    assert breached_thresholds(vitals, RULES) == [] or changes.get("heart_rate") == 49
