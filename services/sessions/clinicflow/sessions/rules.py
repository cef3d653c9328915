"""The sessions rule set: monitoring thresholds, dose ranges, monitoring minimum and integration window.

Versioned, clinician-owned configuration (published defaults in ``rules/default.json``, docs/clinical-rules.md §4–5;
a clinic names its own file with ``SESSIONS_RULES_FILE``). Every deferral, alert, dose decision and discharge
records the version. At start the file is checked for shape and for safety invariants: a clinic may make a safety
value stricter, never looser than the published default, and values that contradict each other are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from clinicflow.shared.rulefiles import Violation, load_rule_file

# Published defaults that bound what a clinic may configure (docs/clinical-rules.md §4).
MINIMUM_MONITORING_AT_LEAST = 120  # Spravato REMS: at least two hours
PRE_DOSE_GUIDE_AT_MOST = {"systolic": 140, "diastolic": 90, "systolic_65_and_over": 150, "diastolic_65_and_over": 90}
ALARM_AT_MOST = {"systolic_above": 180, "diastolic_above": 110, "heart_rate_above": 130}
ALARM_AT_LEAST = {"systolic_below": 90, "heart_rate_below": 50, "spo2_below": 92, "moaas_at_or_below": 2}
INTRANASAL_DEVICE_MG = 28  # one esketamine nasal device
INTRANASAL_LABEL_MAXIMUM_MG = 84
INTRANASAL_FIRST_DOSE_AT_MOST_MG = 56


@dataclass(frozen=True)
class SessionRules:
    """Thresholds and ranges in force."""

    version: str
    pre_dose_blood_pressure: dict[str, int]
    vitals_alert: dict[str, int]
    dose: dict[str, dict[str, list[float] | float]]
    minimum_monitoring_minutes: int
    integration_opens_after_hours: float
    integration_due_within_hours: float
    planned_sessions_default: int
    planned_sessions_max: int


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BloodPressureGuide(_Strict):
    systolic: int = Field(gt=0)
    diastolic: int = Field(gt=0)
    systolic_65_and_over: int = Field(gt=0)
    diastolic_65_and_over: int = Field(gt=0)


class AlarmLimits(_Strict):
    systolic_above: int
    systolic_below: int
    diastolic_above: int
    heart_rate_above: int
    heart_rate_below: int
    spo2_below: int = Field(ge=0, le=100)
    moaas_at_or_below: int = Field(ge=0, le=5)


class WeightBasedDose(_Strict):
    mg_per_kg: tuple[float, float]


class IntranasalDose(_Strict):
    mg: list[float] = Field(min_length=1)
    mg_65_and_over: list[float] = Field(min_length=1)
    first_dose_max_mg: float


class DoseRules(_Strict):
    iv: WeightBasedDose
    im: WeightBasedDose
    intranasal: IntranasalDose


class IntegrationWindow(_Strict):
    opens_after_hours: float = Field(ge=0)
    due_within_hours: float = Field(gt=0)


class PlannedSessions(_Strict):
    default: int = Field(ge=1)
    max: int = Field(ge=1)


class SessionsRuleFile(_Strict):
    """The rule file as the clinic writes it."""

    version: str = Field(min_length=1)
    owner: str = ""
    pre_dose_blood_pressure: BloodPressureGuide
    vitals_alert: AlarmLimits
    dose: DoseRules
    minimum_monitoring_minutes: int
    integration: IntegrationWindow
    planned_sessions: PlannedSessions


def load_rules(path: str | Path | None = None) -> SessionRules:
    """Read and check a rule file (the packaged defaults when ``path`` is None); RuleFileError when unsafe."""
    packaged = resources.files(__package__) / "rules" / "default.json"
    raw = load_rule_file(path, packaged, SessionsRuleFile, violations)
    dose = raw.dose.model_dump()
    for weight_based in ("iv", "im"):
        dose[weight_based]["mg_per_kg"] = list(dose[weight_based]["mg_per_kg"])
    return SessionRules(
        version=raw.version,
        pre_dose_blood_pressure=raw.pre_dose_blood_pressure.model_dump(),
        vitals_alert=raw.vitals_alert.model_dump(),
        dose=dose,
        minimum_monitoring_minutes=raw.minimum_monitoring_minutes,
        integration_opens_after_hours=raw.integration.opens_after_hours,
        integration_due_within_hours=raw.integration.due_within_hours,
        planned_sessions_default=raw.planned_sessions.default,
        planned_sessions_max=raw.planned_sessions.max,
    )


def violations(rules: SessionsRuleFile) -> Iterator[Violation]:
    """Every safety invariant the file breaks, as (field, invariant)."""
    if rules.minimum_monitoring_minutes < MINIMUM_MONITORING_AT_LEAST:
        yield "minimum_monitoring_minutes", f"must be at least {MINIMUM_MONITORING_AT_LEAST} (two hours)"
    if rules.planned_sessions.default > rules.planned_sessions.max:
        yield "planned_sessions.default", "must not exceed planned_sessions.max"
    if rules.integration.due_within_hours <= rules.integration.opens_after_hours:
        yield "integration.due_within_hours", "must be later than integration.opens_after_hours"
    yield from _vital_sign_violations(rules)
    yield from _dose_violations(rules.dose)


def _vital_sign_violations(rules: SessionsRuleFile) -> Iterator[Violation]:
    guide, alarm = rules.pre_dose_blood_pressure.model_dump(), rules.vitals_alert.model_dump()
    for key, limit in PRE_DOSE_GUIDE_AT_MOST.items():
        if guide[key] > limit:
            yield f"pre_dose_blood_pressure.{key}", f"must be at most {limit} (the published guide)"
    for key, limit in ALARM_AT_MOST.items():
        if alarm[key] > limit:
            yield f"vitals_alert.{key}", f"must be at most {limit} (the published alarm limit)"
    for key, limit in ALARM_AT_LEAST.items():
        if alarm[key] < limit:
            yield f"vitals_alert.{key}", f"must be at least {limit} (the published alarm limit)"
    for low, high in (("systolic_below", "systolic_above"), ("heart_rate_below", "heart_rate_above")):
        if alarm[low] >= alarm[high]:
            yield f"vitals_alert.{low}", f"must be below vitals_alert.{high}"
    # A reading the pre-dose check lets through must not already be an alarm.
    for measure, alarm_key in (("systolic", "systolic_above"), ("diastolic", "diastolic_above")):
        if max(guide[measure], guide[f"{measure}_65_and_over"]) >= alarm[alarm_key]:
            yield f"pre_dose_blood_pressure.{measure}", f"must be below vitals_alert.{alarm_key}"


def _dose_violations(dose: DoseRules) -> Iterator[Violation]:
    for route in ("iv", "im"):
        low, high = getattr(dose, route).mg_per_kg
        if not 0 < low <= high:
            yield f"dose.{route}.mg_per_kg", "must be a range from a positive low to a high at least as large"
    nasal = dose.intranasal
    for key in ("mg", "mg_65_and_over"):
        for mg in getattr(nasal, key):
            if mg <= 0 or mg % INTRANASAL_DEVICE_MG:
                yield f"dose.intranasal.{key}", f"{mg:g} mg is not whole {INTRANASAL_DEVICE_MG} mg devices"
            if mg > INTRANASAL_LABEL_MAXIMUM_MG:
                yield f"dose.intranasal.{key}", f"{mg:g} mg is above the label maximum of {INTRANASAL_LABEL_MAXIMUM_MG}"
    if nasal.first_dose_max_mg > INTRANASAL_FIRST_DOSE_AT_MOST_MG:
        yield "dose.intranasal.first_dose_max_mg", f"must be at most {INTRANASAL_FIRST_DOSE_AT_MOST_MG} (the label)"
