"""The register's rule file is refused, naming the field, whenever it breaks an invariant."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from clinicflow.register.rules import load_rules
from clinicflow.shared.rulefiles import RuleFileError

DEFAULT = json.loads((resources.files("clinicflow.register") / "rulefiles" / "default.json").read_text())


def refused(tmp_path, change) -> str:  # noqa: ANN001
    rules = json.loads(json.dumps(DEFAULT))
    change(rules)
    path = tmp_path / "register-rules.json"
    path.write_text(json.dumps(rules))
    with pytest.raises(RuleFileError) as caught:
        load_rules(path)
    return str(caught.value)


def test_the_packaged_defaults_load_and_hold_each_controlled_drug():
    rules = load_rules()
    assert rules.version == "register-2026.1"
    assert {p.drug for p in rules.products} == {"ketamine", "esketamine"}
    assert rules.product("ketamine-10mg-ml-20ml").mg_per_unit == 200


@pytest.mark.parametrize("hours", [24, 0.01])
def test_a_wastage_window_within_one_shift_is_accepted(tmp_path, hours):
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({**DEFAULT, "wastage_within_hours": hours}))
    assert load_rules(path).wastage_within_hours == hours


@pytest.mark.parametrize(("change", "expected"), [
    (lambda r: r.update(wastage_within_hours=24.01), "wastage_within_hours: must be at most 24"),
    (lambda r: r.update(wastage_within_hours=0), "wastage_within_hours"),
    (lambda r: r["products"].append(dict(r["products"][0])), "appears more than once"),
    (lambda r: r["products"][2].update(mg_per_ml=10), "products.2.mg_per_ml: a device is given whole"),
    (lambda r: r["products"][0].update(mg_per_ml=None), "products.0.mg_per_ml: a vial or ampoule is drawn up"),
    (lambda r: r["products"][0].update(mg_per_ml=1, mg_per_unit=200), "more than 100 mL"),
    (lambda r: r["products"][0].update(drug="midazolam"), "products.0.drug"),
    (lambda r: r["products"][0].update(mg_per_unit=0), "products.0.mg_per_unit"),
    (lambda r: r["products"][0].update(reorder_level_units=-1), "products.0.reorder_level_units"),
    (lambda r: r.update(products=[]), "products"),
    (lambda r: r["products"][0].update(code="Ketamine 10"), "products.0.code"),
])
def test_an_unsafe_or_malformed_file_is_refused_naming_the_field(tmp_path, change, expected):
    assert expected in refused(tmp_path, change)
