"""The dose a supervising doctor orders, checked against the route's rules (docs/clinical-rules.md §4, dose). Pure.

Outside the protocol range a dose needs the doctor's written reason; nothing passes the hard maximum, and an
intranasal dose is whole 28 mg devices. Sources: Andrade, J Clin Psychiatry 2017 (IV 0.5 mg/kg over 40 min, range
0.1–0.75); ketamine-assisted psychotherapy trials (IM 0.3–1.0 mg/kg); esketamine label and EU SmPC (56 or 84 mg,
first dose 56 mg, 28 mg first dose and 28 mg steps aged 65 or over, 84 mg maximum).
"""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.clinical import AGE_65_AND_OVER
from clinicflow.shared.errors import InvalidField


@dataclass(frozen=True)
class DoseOrder:
    """What the supervising doctor prescribes for this session."""

    route: str  # iv | im | intranasal
    mg_per_kg: float | None
    mg: float | None
    infusion_minutes: int | None = None  # IV only
    override_reason: str | None = None


@dataclass(frozen=True)
class DoseHistory:
    """What earlier doses of the course say about this one."""

    first: bool
    last_intranasal_mg: float | None = None


@dataclass(frozen=True)
class Dose:
    """The dose to give: the mg computed from the weight where the order is weight-based."""

    route: str
    mg: float
    mg_per_kg: float | None
    weight_kg: float | None
    infusion_minutes: int | None
    within_protocol: bool
    override_reason: str | None


def check_dose(order: DoseOrder, *, weight_kg: float, age_band: str | None, history: DoseHistory,
               rules: SessionRules) -> Dose:
    """Compute and check a dose; InvalidField naming the field when it breaks a rule."""
    if order.route == "intranasal":
        dose, expected = _intranasal(order, age_band=age_band, history=history, rules=rules)
    else:
        dose, expected = _weight_based(order, weight_kg=weight_kg, rules=rules)
    if not dose.within_protocol and not order.override_reason:
        field = "dose_mg" if order.route == "intranasal" else "dose_mg_per_kg"
        raise InvalidField(field, "outside_protocol",
                           f"outside the {order.route} protocol ({expected}); give override_reason to proceed")
    return dose


def _weight_based(order: DoseOrder, *, weight_kg: float, rules: SessionRules) -> tuple[Dose, str]:
    if order.mg_per_kg is None or order.mg is not None:
        raise InvalidField("dose_mg_per_kg", "weight_based_dose_required",
                           f"{order.route} doses are weight-based: give dose_mg_per_kg only")
    route = rules.dose.iv if order.route == "iv" else rules.dose.im
    if order.mg_per_kg > route.hard_max_mg_per_kg:
        raise InvalidField("dose_mg_per_kg", "above_hard_maximum",
                           f"above the {order.route} hard maximum of {route.hard_max_mg_per_kg:g} mg/kg: "
                           "no override passes it")
    _check_infusion(order, rules)
    low, high = route.mg_per_kg
    dose = Dose(order.route, round(order.mg_per_kg * weight_kg, 1), order.mg_per_kg, weight_kg,
                order.infusion_minutes, low <= order.mg_per_kg <= high, order.override_reason)
    return dose, f"{low:g}–{high:g} mg/kg"


def _check_infusion(order: DoseOrder, rules: SessionRules) -> None:
    if order.route != "iv":
        if order.infusion_minutes is not None:
            raise InvalidField("infusion_minutes", "not_an_infusion", f"an {order.route} dose is not an infusion")
        return
    low, high = rules.dose.iv.infusion_minutes
    if order.infusion_minutes is None or not low <= order.infusion_minutes <= high:
        raise InvalidField("infusion_minutes", "infusion_time_required",
                           f"an IV dose records its infusion time, {low}–{high} minutes")


def _intranasal(order: DoseOrder, *, age_band: str | None, history: DoseHistory, rules: SessionRules
                ) -> tuple[Dose, str]:
    nasal = rules.dose.intranasal
    if order.mg is None or order.mg_per_kg is not None or order.infusion_minutes is not None:
        raise InvalidField("dose_mg", "fixed_dose_required", "intranasal doses are fixed: give dose_mg only")
    if order.mg % nasal.device_mg:
        raise InvalidField("dose_mg", "not_whole_devices",
                           f"an intranasal dose is whole {nasal.device_mg:g} mg devices")
    if order.mg > nasal.hard_max_mg:
        raise InvalidField("dose_mg", "above_hard_maximum",
                           f"above the intranasal hard maximum of {nasal.hard_max_mg:g} mg: no override passes it")
    older = age_band in AGE_65_AND_OVER
    allowed = nasal.mg_65_and_over if older else nasal.mg
    first_at_most = nasal.first_dose_mg_at_most_65_and_over if older else nasal.first_dose_mg_at_most
    within = order.mg in allowed
    if history.first:
        within = within and order.mg <= first_at_most
    elif history.last_intranasal_mg is not None:
        within = within and order.mg <= history.last_intranasal_mg + nasal.step_mg_at_most
    dose = Dose("intranasal", order.mg, None, None, None, within, order.override_reason)
    expected = (f"{', '.join(f'{m:g}' for m in allowed)} mg; first dose at most {first_at_most:g}; "
                f"up at most {nasal.step_mg_at_most:g} mg from the last")
    return dose, expected
