"""What a dosing session's readings mean (docs/clinical-rules.md §4): pre-dose deferral reasons, alarm breaches and
discharge ranges. Pure: no I/O.

Sources: Spravato REMS (at least 2 h monitoring; blood pressure before dosing, at ~40 min and before discharge; pulse
oximetry); procedural-sedation discharge practice (back to baseline, MOAA/S 5).
"""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.clinical import AGE_65_AND_OVER

# Reasons a doctor's override does not clear: a review releases the first two, the record or the client the rest.
SAFETY_HOLD = "safety_hold"
UNREVIEWED_ADVERSE_EVENT = "unreviewed_adverse_event"
NOT_OVERRIDABLE = frozenset({SAFETY_HOLD, UNREVIEWED_ADVERSE_EVENT, "no_preparation_session", "no_written_consent",
                             "consent_not_reconfirmed"})


@dataclass(frozen=True)
class Vitals:
    """One set of readings."""

    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    respiratory_rate: int | None = None
    moaas: int | None = None  # MOAA/S sedation, 5 alert .. 0 no response to pain
    cadss: tuple[int, ...] | None = None  # CADSS-6, six items 0–4

    @property
    def cadss_total(self) -> int | None:
        """CADSS-6 total (no validated bands: recorded and trended)."""
        return sum(self.cadss) if self.cadss is not None else None


@dataclass(frozen=True)
class PreDoseCheck:
    """What the nurse or doctor checks before dosing."""

    vitals: Vitals  # with its respiratory rate: the API requires one before dosing
    weight_kg: float
    escort_confirmed: bool
    interacting_medicines_since_last: bool
    alcohol_or_drugs_last_24h: bool
    fasted_as_instructed: bool
    pregnancy_excluded: bool  # true also where pregnancy is not possible
    consent_reconfirmed: bool  # the client confirms again, before each dose, the consent they gave to the course


@dataclass(frozen=True)
class Standing:
    """What stands against dosing beyond this check: the course's preparation and written consent not recorded
    before it, a safety hold, an adverse event not yet reviewed."""

    prepared: bool = True
    consented: bool = True
    safety_hold: bool = False
    unreviewed_adverse_event: bool = False


def pre_dose_deferral_reasons(
    check: PreDoseCheck, *, age_band: str | None, standing: Standing, rules: SessionRules
) -> list[str]:
    """Every reason to defer the dose (docs/clinical-rules.md §4, pre-dose check), as codes."""
    v, pre = check.vitals, rules.pre_dose
    guide = pre.blood_pressure_above
    older = age_band in AGE_65_AND_OVER
    reasons = [code for breached, code in [
        (v.systolic > (guide.systolic_65_and_over if older else guide.systolic)
         or v.diastolic > (guide.diastolic_65_and_over if older else guide.diastolic), "pre_dose_bp_above_guide"),
        (v.systolic < pre.systolic_below or v.diastolic < pre.diastolic_below, "pre_dose_bp_below_range"),
        (v.heart_rate < pre.heart_rate_below, "pre_dose_heart_rate_low"),
        (v.heart_rate > pre.heart_rate_above, "pre_dose_heart_rate_high"),
        (v.spo2 < pre.spo2_below, "pre_dose_spo2_low"),
        (v.respiratory_rate is not None and v.respiratory_rate < pre.respiratory_rate_below,
         "pre_dose_respiratory_rate_low"),
        (v.respiratory_rate is not None and v.respiratory_rate > pre.respiratory_rate_above,
         "pre_dose_respiratory_rate_high"),
        (not check.escort_confirmed, "no_escort_confirmed"),
        (check.interacting_medicines_since_last, "interacting_medicines_since_last_session"),
        (check.alcohol_or_drugs_last_24h, "alcohol_or_drugs_last_24h"),
        (not check.fasted_as_instructed, "not_fasted"),
        (not check.pregnancy_excluded, "pregnancy_not_excluded"),
        (not standing.prepared, "no_preparation_session"),
        (not standing.consented, "no_written_consent"),
        (not check.consent_reconfirmed, "consent_not_reconfirmed"),
        (standing.unreviewed_adverse_event, UNREVIEWED_ADVERSE_EVENT),
        (standing.safety_hold, SAFETY_HOLD),
    ] if breached]
    return reasons


def breached_thresholds(vitals: Vitals, rules: SessionRules) -> list[str]:
    """Alarm limits this reading breaches (any breach is an urgent safety alert), as codes naming the limit."""
    t = rules.vitals_alert
    rr = vitals.respiratory_rate
    checks = [
        (vitals.systolic > t.systolic_above, f"systolic_above_{t.systolic_above}"),
        (vitals.systolic < t.systolic_below, f"systolic_below_{t.systolic_below}"),
        (vitals.diastolic > t.diastolic_above, f"diastolic_above_{t.diastolic_above}"),
        (vitals.heart_rate > t.heart_rate_above, f"heart_rate_above_{t.heart_rate_above}"),
        (vitals.heart_rate < t.heart_rate_below, f"heart_rate_below_{t.heart_rate_below}"),
        (vitals.spo2 < t.spo2_below, f"spo2_below_{t.spo2_below}"),
        (rr is not None and rr > t.respiratory_rate_above, f"respiratory_rate_above_{t.respiratory_rate_above}"),
        (rr is not None and rr < t.respiratory_rate_below, f"respiratory_rate_below_{t.respiratory_rate_below}"),
        (vitals.moaas is not None and vitals.moaas <= t.moaas_at_or_below, f"moaas_at_or_below_{t.moaas_at_or_below}"),
    ]
    return [code for breached, code in checks if breached]


# Discharge criteria a doctor may override with a reason (a client whose own baseline sits outside the range);
# sedation and dissociation must have resolved, whoever asks.
DISCHARGE_OVERRIDABLE = frozenset({"discharge_bp_above_range", "discharge_heart_rate_outside_range",
                                   "discharge_spo2_below_range"})


def outside_discharge_ranges(vitals: Vitals, rules: SessionRules) -> list[str]:
    """Why this reading is not yet good enough to go home on (docs/clinical-rules.md §4, discharge), as codes."""
    d = rules.discharge
    checks = [
        (vitals.systolic > d.systolic_at_most or vitals.diastolic > d.diastolic_at_most, "discharge_bp_above_range"),
        (not d.heart_rate_at_least <= vitals.heart_rate <= d.heart_rate_at_most, "discharge_heart_rate_outside_range"),
        (vitals.spo2 < d.spo2_at_least, "discharge_spo2_below_range"),
        (vitals.moaas != d.moaas, "discharge_sedation_not_resolved"),
        (vitals.cadss_total is None or vitals.cadss_total > d.cadss_total_at_most,
         "discharge_dissociation_not_resolved"),
    ]
    return [code for outside, code in checks if outside]
