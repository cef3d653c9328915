"""Doses (docs/clinical-rules.md §4): protocol ranges a doctor may override with a reason, hard maxima nothing
passes, whole intranasal devices, first doses and steps by age, IV infusion times."""

from __future__ import annotations

import pytest

from clinicflow.sessions.dosing import DoseHistory, DoseOrder, check_dose
from clinicflow.sessions.rules import load_rules
from clinicflow.shared.errors import InvalidField

RULES = load_rules()
FIRST = DoseHistory(first=True)
REASON = "treatment-resistant; discussed with the client"


def weight_based(route: str, mg_per_kg: float, reason: str | None = None, infusion: int | None = 40):  # noqa: ANN201
    order = DoseOrder(route, mg_per_kg, None, infusion if route == "iv" else None, reason)
    return check_dose(order, weight_kg=80.0, age_band="35-44", history=FIRST, rules=RULES)


def refused(call, field: str, kind: str) -> None:  # noqa: ANN001
    with pytest.raises(InvalidField) as error:
        call()
    assert (error.value.field, error.value.kind) == (field, kind)


def test_a_weight_based_dose_stores_the_weight_and_the_computed_mg():
    dose = weight_based("iv", 0.5)
    assert (dose.mg, dose.mg_per_kg, dose.weight_kg, dose.infusion_minutes, dose.within_protocol) == (
        40.0, 0.5, 80.0, 40, True)


@pytest.mark.parametrize(("route", "mg_per_kg", "within"), [
    ("iv", 0.1, True), ("iv", 0.75, True), ("iv", 0.09, False), ("iv", 0.76, False),
    ("im", 0.3, True), ("im", 1.0, True), ("im", 0.29, False), ("im", 1.01, False),
])
def test_outside_the_protocol_range_needs_the_doctors_reason(route, mg_per_kg, within):
    if within:
        assert weight_based(route, mg_per_kg).within_protocol
        return
    refused(lambda: weight_based(route, mg_per_kg), "dose_mg_per_kg", "outside_protocol")
    overridden = weight_based(route, mg_per_kg, REASON)
    assert (overridden.within_protocol, overridden.override_reason) == (False, REASON)


@pytest.mark.parametrize(("route", "at_max", "beyond"), [("iv", 1.0, 1.01), ("im", 1.5, 1.51)])
def test_no_override_passes_the_hard_maximum(route, at_max, beyond):
    assert weight_based(route, at_max, REASON).mg_per_kg == at_max
    refused(lambda: weight_based(route, beyond, REASON), "dose_mg_per_kg", "above_hard_maximum")


@pytest.mark.parametrize(("minutes", "ok"), [(None, False), (19, False), (20, True), (120, True), (121, False)])
def test_an_iv_dose_records_its_infusion_time(minutes, ok):
    if ok:
        assert weight_based("iv", 0.5, infusion=minutes).infusion_minutes == minutes
    else:
        refused(lambda: weight_based("iv", 0.5, infusion=minutes), "infusion_minutes", "infusion_time_required")


def test_only_an_iv_dose_is_an_infusion_and_forms_match_routes():
    order = DoseOrder("im", 0.5, None, 30)
    refused(lambda: check_dose(order, weight_kg=80, age_band=None, history=FIRST, rules=RULES),
            "infusion_minutes", "not_an_infusion")
    refused(lambda: check_dose(DoseOrder("iv", None, 40.0, 40), weight_kg=80, age_band=None, history=FIRST,
                               rules=RULES), "dose_mg_per_kg", "weight_based_dose_required")
    refused(lambda: check_dose(DoseOrder("intranasal", 0.5, None), weight_kg=80, age_band=None, history=FIRST,
                               rules=RULES), "dose_mg", "fixed_dose_required")


def nasal(mg: float, band: str = "35-44", history: DoseHistory = FIRST, reason: str | None = None):  # noqa: ANN201
    return check_dose(DoseOrder("intranasal", None, mg, None, reason), weight_kg=80, age_band=band, history=history,
                      rules=RULES)


@pytest.mark.parametrize("mg", [27, 30, 70, 83])
def test_an_intranasal_dose_is_whole_28_mg_devices_whatever_the_reason(mg):
    refused(lambda: nasal(mg, reason=REASON), "dose_mg", "not_whole_devices")


def test_no_intranasal_override_passes_84_mg():
    assert nasal(84, history=DoseHistory(first=False, last_intranasal_mg=56)).mg == 84
    refused(lambda: nasal(112, reason=REASON), "dose_mg", "above_hard_maximum")


@pytest.mark.parametrize(("mg", "band", "history", "within"), [
    (56, "35-44", FIRST, True),  # first dose 56 mg
    (84, "35-44", FIRST, False),  # not as a first dose
    (28, "35-44", FIRST, False),  # 28 mg is not an adult protocol dose under 65
    (84, "35-44", DoseHistory(first=False, last_intranasal_mg=56), True),
    (28, "65-74", FIRST, True),  # aged 65 or over: start at 28 mg
    (56, "65-74", FIRST, False),
    (56, "75+", DoseHistory(first=False, last_intranasal_mg=28), True),  # then steps of 28 mg
    (84, "65-74", DoseHistory(first=False, last_intranasal_mg=28), False),  # two steps at once
])
def test_intranasal_first_doses_and_steps_follow_age(mg, band, history, within):
    if within:
        assert nasal(mg, band, history).within_protocol
    else:
        refused(lambda: nasal(mg, band, history), "dose_mg", "outside_protocol")
        assert nasal(mg, band, history, REASON).within_protocol is False
