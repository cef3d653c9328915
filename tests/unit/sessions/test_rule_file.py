"""The sessions rule file's safety invariants: the service refuses to start on a file that loosens a published
safety value or contradicts itself, naming the file, the field and the rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from clinicflow.sessions.rules import SessionRules, load_rules
from clinicflow.shared.rulefiles import RuleFileError

SERVICE = Path(__file__).resolve().parents[3] / "services/sessions/clinicflow/sessions"
DEFAULT = json.loads((SERVICE / "rulefiles/default.json").read_text())


def load_changed(tmp_path: Path, change: Callable[[dict], None]) -> SessionRules:
    raw = json.loads(json.dumps(DEFAULT))
    change(raw)
    path = tmp_path / "sessions-rules.json"
    path.write_text(json.dumps(raw))
    return load_rules(path)


def refused(tmp_path: Path, change: Callable[[dict], None]) -> str:
    with pytest.raises(RuleFileError) as error:
        load_changed(tmp_path, change)
    assert "sessions-rules.json" in str(error.value)
    return str(error.value)


def setter(*path: str, value: object) -> Callable[[dict], None]:
    def change(raw: dict) -> None:
        for key in path[:-1]:
            raw = raw[key]
        raw[path[-1]] = value
    return change


def test_the_packaged_defaults_are_safe():
    assert load_rules().version == DEFAULT["version"]


@pytest.mark.parametrize(("path", "value", "ok"), [
    (("monitoring", "minimum_minutes"), 119, False), (("monitoring", "minimum_minutes"), 120, True),
    (("monitoring", "minimum_minutes"), 180, True),
    (("vitals_alert", "systolic_above"), 181, False), (("vitals_alert", "systolic_above"), 170, True),
    (("vitals_alert", "diastolic_above"), 111, False), (("vitals_alert", "heart_rate_above"), 131, False),
    (("vitals_alert", "heart_rate_below"), 49, False), (("vitals_alert", "spo2_below"), 91, False),
    (("vitals_alert", "spo2_below"), 93, True), (("vitals_alert", "moaas_at_or_below"), 1, False),
    (("vitals_alert", "moaas_at_or_below"), 3, True), (("vitals_alert", "systolic_below"), 89, False),
    (("vitals_alert", "respiratory_rate_above"), 25, False), (("vitals_alert", "respiratory_rate_below"), 9, False),
    (("pre_dose", "blood_pressure_above", "systolic"), 141, False),
    (("pre_dose", "blood_pressure_above", "systolic"), 135, True),
    (("pre_dose", "blood_pressure_above", "diastolic_65_and_over"), 95, False),
    (("pre_dose", "systolic_below"), 89, False), (("pre_dose", "diastolic_below"), 59, False),
    (("pre_dose", "heart_rate_below"), 49, False), (("pre_dose", "heart_rate_above"), 111, False),
    (("pre_dose", "heart_rate_above"), 100, True), (("pre_dose", "spo2_below"), 94, False),
    (("pre_dose", "spo2_below"), 96, True), (("pre_dose", "respiratory_rate_below"), 9, False),
    (("pre_dose", "respiratory_rate_above"), 25, False), (("pre_dose", "dose_within_minutes"), 61, False),
    (("pre_dose", "dose_within_minutes"), 45, True),
    (("discharge", "systolic_at_most"), 161, False), (("discharge", "systolic_at_most"), 150, True),
    (("discharge", "diastolic_at_most"), 101, False), (("discharge", "heart_rate_at_least"), 49, False),
    (("discharge", "heart_rate_at_most"), 111, False), (("discharge", "spo2_at_least"), 93, False),
    (("discharge", "spo2_at_least"), 96, True), (("discharge", "cadss_total_at_most"), 3, False),
    (("discharge", "cadss_total_at_most"), 0, True), (("discharge", "moaas"), 4, False),
    (("discharge", "last_reading_within_minutes"), 31, False),
    (("minimum_hours_between_doses"), 47, False), (("minimum_hours_between_doses"), 72, True),
])
def test_safety_values_may_be_stricter_never_looser_than_published(tmp_path, path, value, ok):
    path = path if isinstance(path, tuple) else (path,)
    change = setter(*path, value=value)
    if ok:
        load_changed(tmp_path, change)
    else:
        assert ".".join(path) in refused(tmp_path, change)


@pytest.mark.parametrize(("change", "expected"), [
    (setter("vitals_alert", "systolic_above", value=140),
     "pre_dose.blood_pressure_above.systolic: must be < vitals_alert.systolic_above"),
    (setter("vitals_alert", "systolic_above", value=155),
     "discharge.systolic_at_most: must be <= vitals_alert.systolic_above"),
    (setter("vitals_alert", "spo2_below", value=96), "pre_dose.spo2_below: must be >= vitals_alert.spo2_below"),
    (setter("vitals_alert", "heart_rate_above", value=105),
     "discharge.heart_rate_at_most: must be <= vitals_alert.heart_rate_above"),
    (setter("dose", "iv", "hard_max_mg_per_kg", value=0.7), "dose.iv.hard_max_mg_per_kg: must not be below the "
                                                            "protocol maximum"),
    (setter("dose", "im", "hard_max_mg_per_kg", value=2.0), "dose.im.hard_max_mg_per_kg: must be at most 1.5"),
    (setter("dose", "intranasal", "hard_max_mg", value=56), "dose.intranasal.hard_max_mg: must not be below"),
    (setter("dose", "intranasal", "hard_max_mg", value=112), "must be at most 84"),
    (setter("dose", "intranasal", "mg", value=[56, 70]), "70 mg is not whole 28 mg devices"),
    (setter("dose", "intranasal", "first_dose_mg_at_most", value=84), "first_dose_mg_at_most"),
    (setter("dose", "intranasal", "first_dose_mg_at_most_65_and_over", value=56), "first_dose_mg_at_most_65"),
    (setter("dose", "intranasal", "step_mg_at_most", value=56), "step_mg_at_most"),
    (setter("dose", "intranasal", "device_mg", value=14), "device_mg"),
    (setter("dose", "iv", "mg_per_kg", value=[0.75, 0.1]), "dose.iv.mg_per_kg"),
    (setter("monitoring", "peak_reading_minutes", value=[50, 70]), "must include 40 minutes"),
    (setter("clinic_time_zone", value="Europe/Atlantis"), "clinic_time_zone"),
    (setter("planned_sessions", "default", value=9), "planned_sessions.default"),
    (setter("integration", "opens_after_hours", value=80), "integration.due_within_hours"),
    (setter("adverse_event_codes", value=["Nausea"]), "adverse_event_codes"),
])
def test_contradictions_and_labels_are_refused(tmp_path, change, expected):
    assert expected in refused(tmp_path, change)


def test_an_unknown_or_missing_field_is_refused_by_name(tmp_path):
    assert "vitals_alert.spo2_under" in refused(tmp_path, setter("vitals_alert", "spo2_under", value=90))
    assert "charting_window_hours" in refused(tmp_path, lambda r: r.pop("charting_window_hours"))


@pytest.mark.parametrize(("path", "value", "ok"), [
    (("outcomes", "response_fall_percent"), 40, False), (("outcomes", "response_fall_percent"), 50, True),
    (("outcomes", "instruments", "phq9", "remission_at_most"), 5, False),
    (("outcomes", "instruments", "gad7", "remission_at_most"), 3, False),
    (("outcomes", "instruments", "pain_nrs", "remission_at_most"), 4, False),
    (("outcomes", "instruments", "pcl5", "remission_at_most"), 33, False),
    (("outcomes", "instruments", "pcl5", "remission_at_most"), 30, True),
    (("outcomes", "instruments", "pcl5", "remission_at_most"), 29, False),
    (("outcomes", "instruments", "phq9", "meaningful_baseline_at_least"), 9, False),
    (("outcomes", "instruments", "gad7", "meaningful_baseline_at_least"), 4, False),
    (("outcomes", "deterioration_rise_at_least", "phq9"), 6, False),
    (("outcomes", "deterioration_rise_at_least", "phq9"), 4, True),
    (("outcomes", "deterioration_rise_at_least", "phq9"), 0, False),
    (("outcomes", "non_response_review", "after_session"), 5, False),
    (("outcomes", "non_response_review", "after_session"), 3, True),
    (("outcomes", "non_response_review", "fall_percent_below"), 24, False),
    (("outcomes", "non_response_review", "fall_percent_below"), 30, True),
    (("maintenance", "minimum_interval_days"), 6, False), (("maintenance", "minimum_interval_days"), 7, True),
    (("planned_sessions", "by_route", "intranasal"), 9, False),
])
def test_outcome_definitions_cannot_move_and_deterioration_cannot_be_switched_off(tmp_path, path, value, ok):
    change = setter(*path, value=value)
    if ok:
        load_changed(tmp_path, change)
    else:
        assert ".".join(path) in refused(tmp_path, change)


def test_every_screened_instrument_has_an_outcome_rule(tmp_path):
    assert "outcomes.instruments.pcl5" in refused(tmp_path, lambda r: r["outcomes"]["instruments"].pop("pcl5"))
    assert "outcomes.deterioration_rise_at_least.phq9" in refused(
        tmp_path, lambda r: r["outcomes"]["deterioration_rise_at_least"].pop("phq9"))
