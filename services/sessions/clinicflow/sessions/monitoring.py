"""Clinical checks of a dosing session (docs/clinical-rules.md §4). Pure: no I/O.

Sources: Spravato REMS (≥ 2 h monitoring; BP before dosing, ~40 min after and before discharge; pulse oximetry);
esketamine label (intranasal 56/84 mg, 28 mg per device, first dose 56 mg, 28 mg start aged ≥ 65 in the EU);
Andrade, J Clin Psychiatry 2017 (IV 0.5 mg/kg over 40 min, range 0.1–0.75); KAP trials (IM 0.3–1.0 mg/kg);
Yale chart review of 2,342 IV infusions (BP peaks at 40 min).
"""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.errors import InvalidField

AGE_65_AND_OVER = frozenset({"65-74", "75+"})


@dataclass(frozen=True)
class Vitals:
    """One set of readings."""

    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    moaas: int | None = None  # MOAA/S sedation, 5 alert .. 0 no response to pain
    cadss: tuple[int, ...] | None = None  # CADSS-6, six items 0–4

    @property
    def cadss_total(self) -> int | None:
        """CADSS-6 total (no validated bands: recorded and trended)."""
        return sum(self.cadss) if self.cadss is not None else None


@dataclass(frozen=True)
class PreDoseCheck:
    """What the nurse checks before dosing."""

    vitals: Vitals
    weight_kg: float
    escort_confirmed: bool
    interacting_medicines_since_last: bool


def pre_dose_deferral_reasons(check: PreDoseCheck, *, age_band: str | None, rules: SessionRules) -> list[str]:
    """Why dosing should not go ahead: BP above 140/90 (150/90 aged 65 or over), no escort home, or interacting
    medicines started since the last session (a relative contraindication, docs/clinical-rules.md §3)."""
    vitals = check.vitals
    guide = rules.pre_dose_blood_pressure
    older = age_band in AGE_65_AND_OVER
    systolic_limit = guide["systolic_65_and_over"] if older else guide["systolic"]
    diastolic_limit = guide["diastolic_65_and_over"] if older else guide["diastolic"]
    reasons = []
    if vitals.systolic > systolic_limit or vitals.diastolic > diastolic_limit:
        reasons.append("pre_dose_bp_above_guide")
    if not check.escort_confirmed:
        reasons.append("no_escort_confirmed")
    if check.interacting_medicines_since_last:
        reasons.append("interacting_medicines_since_last_session")
    return reasons


def breached_thresholds(vitals: Vitals, rules: SessionRules) -> list[str]:
    """In-session alert thresholds this reading breaches (any breach is an urgent safety alert)."""
    t = rules.vitals_alert
    checks = [
        (vitals.systolic > t["systolic_above"], f"systolic_above_{t['systolic_above']}"),
        (vitals.systolic < t["systolic_below"], f"systolic_below_{t['systolic_below']}"),
        (vitals.diastolic > t["diastolic_above"], f"diastolic_above_{t['diastolic_above']}"),
        (vitals.heart_rate > t["heart_rate_above"], f"heart_rate_above_{t['heart_rate_above']}"),
        (vitals.heart_rate < t["heart_rate_below"], f"heart_rate_below_{t['heart_rate_below']}"),
        (vitals.spo2 < t["spo2_below"], f"spo2_below_{t['spo2_below']}"),
        (vitals.moaas is not None and vitals.moaas <= t["moaas_at_or_below"],
         f"moaas_at_or_below_{t['moaas_at_or_below']}"),
    ]
    return [code for breached, code in checks if breached]


@dataclass(frozen=True)
class DoseOrder:
    """What the supervising doctor prescribes for this session."""

    route: str  # iv | im | intranasal
    mg_per_kg: float | None
    mg: float | None
    override_reason: str | None = None


@dataclass(frozen=True)
class Dose:
    """The dose to give: the mg computed from weight where the order is weight-based."""

    route: str
    mg: float
    mg_per_kg: float | None
    weight_kg: float | None
    within_protocol: bool
    override_reason: str | None


def check_dose(
    order: DoseOrder, *, weight_kg: float, age_band: str | None, first_session: bool, rules: SessionRules
) -> Dose:
    """Compute and check a dose; outside the route's protocol range it needs the doctor's written reason."""
    protocol = rules.dose[order.route]
    if order.route == "intranasal":
        if order.mg is None or order.mg_per_kg is not None:
            raise InvalidField("dose_mg", "fixed_dose_required", "intranasal doses are fixed: give dose_mg only")
        allowed = protocol["mg_65_and_over"] if age_band in AGE_65_AND_OVER else protocol["mg"]
        within = order.mg in allowed and not (first_session and order.mg > protocol["first_dose_max_mg"])
        dose = Dose(order.route, order.mg, None, None, within, order.override_reason)
        expected = f"{', '.join(f'{m:g}' for m in allowed)} mg (first dose at most {protocol['first_dose_max_mg']:g})"
    else:
        if order.mg_per_kg is None or order.mg is not None:
            raise InvalidField("dose_mg_per_kg", "weight_based_dose_required",
                               f"{order.route} doses are weight-based: give dose_mg_per_kg only")
        low, high = protocol["mg_per_kg"]
        within = low <= order.mg_per_kg <= high
        mg = round(order.mg_per_kg * weight_kg, 1)
        dose = Dose(order.route, mg, order.mg_per_kg, weight_kg, within, order.override_reason)
        expected = f"{low:g}–{high:g} mg/kg"
    if not within and not order.override_reason:
        field = "dose_mg" if order.route == "intranasal" else "dose_mg_per_kg"
        raise InvalidField(field, "outside_protocol",
                           f"outside the {order.route} protocol range ({expected}); give override_reason to proceed")
    return dose
