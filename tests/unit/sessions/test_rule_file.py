"""The sessions rule file's safety invariants: the service refuses to start on a file that loosens a published
safety value or contradicts itself, naming the file, the field and the rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from clinicflow.sessions.rules import load_rules
from clinicflow.shared.rulefiles import RuleFileError

DEFAULT = json.loads((Path(__file__).resolve().parents[3] / "services/sessions/clinicflow/sessions/rules/default.json")
                     .read_text())


def load_changed(tmp_path: Path, change: Callable[[dict], None]):  # noqa: ANN201
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


def test_the_packaged_defaults_are_safe():
    assert load_rules().version == DEFAULT["version"]


@pytest.mark.parametrize(("minutes", "ok"), [(119, False), (120, True), (180, True)])
def test_monitoring_lasts_at_least_two_hours(tmp_path, minutes, ok):
    change = lambda r: r.update(minimum_monitoring_minutes=minutes)  # noqa: E731
    if ok:
        assert load_changed(tmp_path, change).minimum_monitoring_minutes == minutes
    else:
        assert "minimum_monitoring_minutes: must be at least 120" in refused(tmp_path, change)


@pytest.mark.parametrize(("key", "value", "ok"), [
    ("systolic_above", 180, True), ("systolic_above", 181, False), ("systolic_above", 170, True),
    ("diastolic_above", 111, False), ("heart_rate_above", 131, False), ("heart_rate_above", 130, True),
    ("heart_rate_below", 49, False), ("heart_rate_below", 50, True), ("spo2_below", 91, False),
    ("spo2_below", 94, True), ("moaas_at_or_below", 1, False), ("moaas_at_or_below", 3, True),
    ("systolic_below", 89, False),
])
def test_alarm_limits_may_be_stricter_never_looser(tmp_path, key, value, ok):
    change = lambda r: r["vitals_alert"].update({key: value})  # noqa: E731
    if ok:
        assert load_changed(tmp_path, change).vitals_alert[key] == value
    else:
        assert f"vitals_alert.{key}" in refused(tmp_path, change)


def test_a_pre_dose_guide_at_or_above_the_alarm_limit_contradicts_it(tmp_path):
    message = refused(tmp_path, lambda r: r["vitals_alert"].update(systolic_above=150))
    assert "pre_dose_blood_pressure.systolic: must be below vitals_alert.systolic_above" in message


@pytest.mark.parametrize(("key", "value"), [("systolic", 141), ("diastolic_65_and_over", 95)])
def test_the_pre_dose_guide_cannot_be_loosened(tmp_path, key, value):
    assert f"pre_dose_blood_pressure.{key}" in refused(tmp_path, lambda r: r["pre_dose_blood_pressure"].update({key: value}))


@pytest.mark.parametrize(("change", "expected"), [
    (lambda r: r["dose"]["intranasal"].update(mg=[56, 70]), "70 mg is not whole 28 mg devices"),
    (lambda r: r["dose"]["intranasal"].update(mg=[56, 112]), "above the label maximum"),
    (lambda r: r["dose"]["intranasal"].update(first_dose_max_mg=84), "first_dose_max_mg"),
    (lambda r: r["dose"]["iv"].update(mg_per_kg=[0.75, 0.1]), "dose.iv.mg_per_kg"),
    (lambda r: r["dose"]["im"].update(mg_per_kg=[0, 1.0]), "dose.im.mg_per_kg"),
])
def test_dose_ranges_are_coherent_and_within_the_label(tmp_path, change, expected):
    assert expected in refused(tmp_path, change)


def test_planned_sessions_and_the_integration_window_are_coherent(tmp_path):
    assert "planned_sessions.default" in refused(tmp_path, lambda r: r["planned_sessions"].update(default=9))
    assert "integration.due_within_hours" in refused(
        tmp_path, lambda r: r["integration"].update(opens_after_hours=80))


def test_an_unknown_or_missing_field_is_refused_by_name(tmp_path):
    assert "vitals_alert.spo2_under" in refused(tmp_path, lambda r: r["vitals_alert"].update(spo2_under=90))
    assert "minimum_monitoring_minutes" in refused(tmp_path, lambda r: r.pop("minimum_monitoring_minutes"))
