"""The screening rule file's safety invariants: the service refuses to start on a file that would switch a safety
check off or leave a score without a band, naming the file, the field and the rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from clinicflow.screening.rules import load_rules
from clinicflow.shared.rulefiles import RuleFileError

RULES_FILE = Path(__file__).resolve().parents[3] / "services/screening/clinicflow/screening/rulefiles/default.json"
DEFAULT = json.loads(RULES_FILE.read_text())


def written(tmp_path: Path, change: Callable[[dict], None]) -> Path:
    raw = json.loads(json.dumps(DEFAULT))
    change(raw)
    path = tmp_path / "screening-rules.json"
    path.write_text(json.dumps(raw))
    return path


def refused(tmp_path: Path, change: Callable[[dict], None]) -> str:
    with pytest.raises(RuleFileError) as error:
        load_rules(written(tmp_path, change))
    assert str(tmp_path / "screening-rules.json") in str(error.value)
    return str(error.value)


def test_the_packaged_defaults_are_safe():
    assert load_rules().version == DEFAULT["version"]


@pytest.mark.parametrize("threshold", [0, 2, 4])
def test_an_item9_threshold_other_than_1_is_refused(tmp_path, threshold):
    message = refused(tmp_path, lambda r: r.update(phq9_item9_alert_threshold=threshold))
    assert "phq9_item9_alert_threshold: must be 1" in message


@pytest.mark.parametrize(("instrument", "bands", "expected"), [
    ("phq9", [[0, 4, "minimal"], [6, 27, "rest"]], "must start right after"),  # a gap at 5
    ("phq9", [[0, 5, "minimal"], [5, 27, "rest"]], "must start right after"),  # an overlap at 5
    ("gad7", [[0, 4, "minimal"], [5, 20, "rest"]], "from 0 to 21"),  # 21 has no band
    ("gad7", [[1, 4, "minimal"], [5, 21, "rest"]], "from 0 to 21"),  # 0 has no band
    ("pain_nrs", [[0, 5, "low"], [6, 10, "low"]], "unique"),
    ("pain_nrs", [[0, 0, "none"], [1, 0, "odd"], [1, 10, "rest"]], "ends before it starts"),
])
def test_a_band_table_that_leaves_a_score_without_one_band_is_refused(tmp_path, instrument, bands, expected):
    message = refused(tmp_path, lambda r: r["bands"].update({instrument: bands}))
    assert f"bands.{instrument}" in message and expected in message


def test_a_missing_band_table_is_refused(tmp_path):
    assert "bands.pain_nrs: is missing" in refused(tmp_path, lambda r: r["bands"].pop("pain_nrs"))


@pytest.mark.parametrize(("cut_off", "ok"), [(30, False), (31, True), (33, True), (34, False)])
def test_the_pcl5_cut_off_stays_within_the_published_range(tmp_path, cut_off, ok):
    path = written(tmp_path, lambda r: r.update(pcl5_provisional_cut_off=cut_off))
    if ok:
        assert load_rules(path).pcl5_provisional_cut_off == cut_off
    else:
        with pytest.raises(RuleFileError, match="pcl5_provisional_cut_off"):
            load_rules(path)


@pytest.mark.parametrize(("value", "ok"), [(1, True), (10, True), (11, False), (0, False)])
def test_gad7_evaluation_may_start_earlier_never_later(tmp_path, value, ok):
    path = written(tmp_path, lambda r: r.update(gad7_evaluation_threshold=value))
    if ok:
        assert load_rules(path).gad7_evaluation_threshold == value
    else:
        with pytest.raises(RuleFileError, match="gad7_evaluation_threshold"):
            load_rules(path)


@pytest.mark.parametrize(("key", "value", "ok"), [
    ("systolic", 140, True), ("systolic", 141, False), ("systolic", 130, True),
    ("diastolic", 91, False), ("systolic_65_and_over", 151, False), ("diastolic_65_and_over", 90, True),
])
def test_the_pre_dose_guide_may_be_stricter_never_looser(tmp_path, key, value, ok):
    path = written(tmp_path, lambda r: r["pre_dose_blood_pressure"].update({key: value}))
    if ok:
        assert load_rules(path).pre_dose_blood_pressure[key] == value
    else:
        with pytest.raises(RuleFileError, match=f"pre_dose_blood_pressure.{key}"):
            load_rules(path)


@pytest.mark.parametrize(("severe", "expected"), [
    ({"systolic": 181, "diastolic": 110}, "severe_blood_pressure.systolic: must be at most 180"),
    ({"systolic": 180, "diastolic": 111}, "severe_blood_pressure.diastolic: must be at most 110"),
    ({"systolic": 150, "diastolic": 110}, "severe_blood_pressure.systolic: must be above the pre-dose guide"),
])
def test_the_severe_blood_pressure_sits_between_the_guide_and_the_alarm_limits(tmp_path, severe, expected):
    assert expected in refused(tmp_path, lambda r: r.update(severe_blood_pressure=severe))


@pytest.mark.parametrize("code", ["pregnancy", "current_psychosis_or_mania", "uncontrolled_hypertension",
                                  "chronic_psychotic_illness"])
def test_an_absolute_contraindication_cannot_be_dropped_or_made_relative(tmp_path, code):
    def drop(r: dict) -> None:
        r["absolute_contraindications"].remove(code)

    def demote(r: dict) -> None:
        drop(r)
        r["relative_contraindications"].append(code)

    assert f"must include {code!r}" in refused(tmp_path, drop)
    assert f"must include {code!r}" in refused(tmp_path, demote)


def test_a_relative_contraindication_may_become_absolute_but_not_disappear(tmp_path):
    def promote(r: dict) -> None:
        r["relative_contraindications"].remove("breastfeeding")
        r["absolute_contraindications"].append("breastfeeding")

    assert "breastfeeding" in load_rules(written(tmp_path, promote)).absolute_contraindications
    assert "'breastfeeding'" in refused(tmp_path, lambda r: r["relative_contraindications"].remove("breastfeeding"))
    assert "cannot be both" in refused(tmp_path, lambda r: r["relative_contraindications"].append("pregnancy"))


def test_interacting_medicines_and_baseline_measures_cannot_be_dropped(tmp_path):
    assert "interacting_medicine_classes: must include 'opioids'" in refused(
        tmp_path, lambda r: r["interacting_medicine_classes"].remove("opioids"))
    assert "required_baseline.always: must include 'phq9'" in refused(
        tmp_path, lambda r: r["required_baseline"].update(always=["gad7"]))


def test_a_misspelt_or_unknown_field_is_refused_by_name(tmp_path):
    assert "phq9_item9_alert_treshold" in refused(tmp_path, lambda r: r.update(phq9_item9_alert_treshold=1))
    assert "severe_blood_pressure" in refused(tmp_path, lambda r: r.pop("severe_blood_pressure"))


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "screening-rules.json"
    path.write_text("{ not json")
    with pytest.raises(RuleFileError, match="not valid JSON"):
        load_rules(path)
