"""The sessions rule set: pre-dose, alarm and discharge ranges, doses, monitoring, charting, intervals, integration,
the course's plan and the outcome definitions.

Versioned, clinician-owned configuration (published defaults in ``rulefiles/default.json``, docs/clinical-rules.md §4–5;
a clinic names its own file with ``SESSIONS_RULES_FILE``). Every deferral, alert, dose decision and discharge
records the version. At start the file is checked for shape and for safety invariants: a clinic may make a safety
value stricter, never looser than the published default, and values that contradict each other are refused (a hard
dose maximum below the protocol maximum, discharge ranges wider than the alarm limits, a pre-dose range that lets an
alarm through).
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from clinicflow.shared.clinical import BLOOD_PRESSURE_GUIDE_AT_MOST, SEVERE_BLOOD_PRESSURE_AT_MOST
from clinicflow.shared.rulefiles import Violation, load_rule_file

# Published defaults that bound what a clinic may configure (docs/clinical-rules.md §4).
MINIMUM_MONITORING_AT_LEAST = 120  # Spravato REMS: at least two hours
PRE_DOSE_AT_LEAST = {"systolic_below": 90, "diastolic_below": 60, "heart_rate_below": 50, "spo2_below": 95,
                     "respiratory_rate_below": 10}
PRE_DOSE_AT_MOST = {"heart_rate_above": 110, "respiratory_rate_above": 24, "dose_within_minutes": 60}
ALARM_AT_MOST = {"systolic_above": SEVERE_BLOOD_PRESSURE_AT_MOST["systolic"],
                 "diastolic_above": SEVERE_BLOOD_PRESSURE_AT_MOST["diastolic"], "heart_rate_above": 130,
                 "respiratory_rate_above": 24}
ALARM_AT_LEAST = {"systolic_below": 90, "heart_rate_below": 50, "spo2_below": 92, "moaas_at_or_below": 2,
                  "respiratory_rate_below": 10}
DISCHARGE_AT_MOST = {"systolic_at_most": 160, "diastolic_at_most": 100, "heart_rate_at_most": 110,
                     "cadss_total_at_most": 2, "last_reading_within_minutes": 30}
DISCHARGE_AT_LEAST = {"heart_rate_at_least": 50, "spo2_at_least": 94}
HARD_MAXIMUM_AT_MOST = {"iv": 1.0, "im": 1.5}  # mg/kg
INTRANASAL_DEVICE_MG = 28  # one esketamine nasal device
INTRANASAL_HARD_MAXIMUM_AT_MOST = 84  # the label's maximum
FIRST_DOSE_AT_MOST = {"first_dose_mg_at_most": 56, "first_dose_mg_at_most_65_and_over": 28}
BP_PEAK_MINUTES = 40  # blood pressure peaks about 40 minutes after dosing
BETWEEN_DOSES_AT_LEAST_HOURS = 48
# Outcome definitions (docs/clinical-rules.md §2, §5): one definition used consistently, so a clinic may not move them.
RESPONSE_FALL_PERCENT = 50  # response: a fall of at least 50 % from the course's baseline
REMISSION_AT_MOST = {"phq9": 4, "gad7": 4, "pain_nrs": 3}  # PHQ-9 < 5, GAD-7 < 5, pain NRS <= 3
PCL5_CUT_OFF_RANGE = (31, 33)  # PCL-5 remission: below the clinic's provisional-PTSD cut-off
MEANINGFUL_PHQ9_BASELINE = 10  # response and remission mean something only from a PHQ-9 baseline of 10
PHQ9_DETERIORATION_AT_MOST = 5  # deterioration: PHQ-9 up 5 or more from baseline (a clinic may tell sooner)
NON_RESPONSE_REVIEW = {"after_session_at_most": 4, "fall_percent_below_at_least": 25}
MAINTENANCE_INTERVAL_AT_LEAST_DAYS = 7
Instrument = Literal["phq9", "gad7", "pcl5", "pain_nrs"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BloodPressureGuide(_Strict):
    """Above these (mmHg) the pre-dose check defers; the 65-and-over figures apply from that age band."""

    systolic: int = Field(gt=0)
    diastolic: int = Field(gt=0)
    systolic_65_and_over: int = Field(gt=0)
    diastolic_65_and_over: int = Field(gt=0)


class PreDoseRanges(_Strict):
    """Outside these the pre-dose check defers (a doctor may override, one reason at a time)."""

    blood_pressure_above: BloodPressureGuide
    systolic_below: int
    diastolic_below: int
    heart_rate_below: int
    heart_rate_above: int
    spo2_below: int = Field(ge=0, le=100)
    respiratory_rate_below: int
    respiratory_rate_above: int
    dose_within_minutes: int = Field(gt=0, description="The dose must follow its check within this many minutes.")


class AlarmLimits(_Strict):
    """Any reading beyond these is an urgent safety alert at once."""

    systolic_above: int
    systolic_below: int
    diastolic_above: int
    heart_rate_above: int
    heart_rate_below: int
    spo2_below: int = Field(ge=0, le=100)
    respiratory_rate_above: int
    respiratory_rate_below: int
    moaas_at_or_below: int = Field(ge=0, le=5)


class DischargeRanges(_Strict):
    """The last reading before discharge must be inside these (stricter than the alarm limits)."""

    systolic_at_most: int
    diastolic_at_most: int
    heart_rate_at_least: int
    heart_rate_at_most: int
    spo2_at_least: int = Field(ge=0, le=100)
    moaas: int = Field(ge=0, le=5)
    cadss_total_at_most: int = Field(ge=0, le=24)
    last_reading_within_minutes: int = Field(gt=0)


class WeightBasedDose(_Strict):
    mg_per_kg: tuple[float, float] = Field(description="The protocol range; outside it needs a doctor's reason.")
    hard_max_mg_per_kg: float = Field(gt=0, description="Nothing passes this, override or not.")


class IvDose(WeightBasedDose):
    infusion_minutes: tuple[int, int] = Field(description="How long an IV infusion may run.")


class IntranasalDose(_Strict):
    device_mg: float
    mg: list[float] = Field(min_length=1, description="Protocol doses under 65.")
    mg_65_and_over: list[float] = Field(min_length=1)
    first_dose_mg_at_most: float
    first_dose_mg_at_most_65_and_over: float
    step_mg_at_most: float = Field(gt=0, description="A dose may rise at most this much above the last one.")
    hard_max_mg: float = Field(gt=0)


class DoseRules(_Strict):
    iv: IvDose
    im: WeightBasedDose
    intranasal: IntranasalDose


class Monitoring(_Strict):
    minimum_minutes: int
    peak_reading_minutes: tuple[int, int] = Field(description="A reading is required in this window after dosing.")


class IntegrationWindow(_Strict):
    opens_after_hours: float = Field(ge=0)
    due_within_hours: float = Field(gt=0)


class PlannedSessions(_Strict):
    """How many dosing sessions a course plans: the default, what each route suggests, and the most a doctor may
    plan (maintenance sessions come on top)."""

    default: int = Field(ge=1)
    by_route: dict[Literal["iv", "im", "intranasal"], int] = Field(default_factory=dict)
    max: int = Field(ge=1)


class Maintenance(_Strict):
    """A responder's sessions at a longer interval once the acute course has worked."""

    minimum_interval_days: int = Field(ge=1)
    sessions_at_most: int = Field(ge=1)


class InstrumentOutcome(_Strict):
    meaningful_baseline_at_least: int = Field(ge=1, description="Below it, response and remission mean nothing.")
    remission_at_most: int = Field(ge=0)


class NonResponseReview(_Strict):
    after_session: int = Field(ge=1)
    fall_percent_below: float = Field(gt=0, le=100)


class OutcomeRules(_Strict):
    """Response, remission, deterioration and the non-response review (docs/clinical-rules.md §5)."""

    response_fall_percent: float
    instruments: dict[Instrument, InstrumentOutcome]
    deterioration_rise_at_least: dict[Instrument, int]
    non_response_review: NonResponseReview


class SessionRules(_Strict):
    """The rule file as the clinic writes it, validated: the rules in force."""

    version: str = Field(min_length=1)
    owner: str = ""
    note: str = ""
    clinic_time_zone: str = Field(description="IANA zone whose calendar days 'one dose a day' counts.")
    charting_window_hours: float = Field(gt=0, description="How long after the fact a step may still be charted.")
    pre_dose: PreDoseRanges
    vitals_alert: AlarmLimits
    discharge: DischargeRanges
    monitoring: Monitoring
    dose: DoseRules
    minimum_hours_between_doses: float
    adverse_event_codes: list[str] = Field(min_length=1)
    preparation_topics: list[str] = Field(min_length=1, description="What a preparation session may cover.")
    safety_plan_items: list[str] = Field(min_length=1, description="The parts of a client's safety plan.")
    integration: IntegrationWindow
    planned_sessions: PlannedSessions
    maintenance: Maintenance
    course_stop_reasons: list[str] = Field(min_length=1, description="Why a doctor may stop a course early.")
    review_decisions: list[str] = Field(min_length=1, description="What a non-response review may decide.")
    therapy_themes: list[str] = Field(min_length=1, description="Themes a therapist codes in session or at "
                                                               "integration.")
    therapy_concerns: list[str] = Field(min_length=1, description="Concerns a therapist raises for the team.")
    outcomes: OutcomeRules

    @property
    def zone(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.clinic_time_zone)


def load_rules(path: str | Path | None = None) -> SessionRules:
    """Read and check a rule file (the packaged defaults when ``path`` is None); RuleFileError when unsafe."""
    return load_rule_file(path, resources.files(__package__) / "rulefiles" / "default.json", SessionRules, violations)


def violations(rules: SessionRules) -> Iterator[Violation]:
    """Every safety invariant the file breaks, as (field, invariant)."""
    yield from _bounds("pre_dose.blood_pressure_above", rules.pre_dose.blood_pressure_above,
                       at_most=BLOOD_PRESSURE_GUIDE_AT_MOST)
    yield from _bounds("pre_dose", rules.pre_dose, at_most=PRE_DOSE_AT_MOST, at_least=PRE_DOSE_AT_LEAST)
    yield from _bounds("vitals_alert", rules.vitals_alert, at_most=ALARM_AT_MOST, at_least=ALARM_AT_LEAST)
    yield from _bounds("discharge", rules.discharge, at_most=DISCHARGE_AT_MOST, at_least=DISCHARGE_AT_LEAST)
    if rules.discharge.moaas != 5:
        yield "discharge.moaas", "must be 5: sedation must have resolved before discharge"
    yield from _contradictions(rules)
    yield from _dose_violations(rules.dose)
    yield from _time_violations(rules)
    yield from _outcome_violations(rules.outcomes)
    for field in ("adverse_event_codes", "preparation_topics", "safety_plan_items", "course_stop_reasons",
                  "review_decisions", "therapy_themes", "therapy_concerns"):
        for code in getattr(rules, field):
            if not code.replace("_", "").isalnum() or code != code.lower():
                yield field, f"{code!r} is not a lower-case code"


def _bounds(where: str, model: BaseModel, *, at_most: dict[str, float], at_least: dict[str, float] | None = None
            ) -> Iterator[Violation]:
    values = model.model_dump()
    for key, limit in at_most.items():
        if values[key] > limit:
            yield f"{where}.{key}", f"must be at most {limit:g} (the published default)"
    for key, limit in (at_least or {}).items():
        if values[key] < limit:
            yield f"{where}.{key}", f"must be at least {limit:g} (the published default)"


def _contradictions(rules: SessionRules) -> Iterator[Violation]:
    pre, alarm, out = rules.pre_dose, rules.vitals_alert, rules.discharge
    guide = pre.blood_pressure_above
    pairs = [  # (field, the value, relation, the limit it must respect, that limit's name)
        ("pre_dose.blood_pressure_above.systolic", max(guide.systolic, guide.systolic_65_and_over), "<",
         alarm.systolic_above, "vitals_alert.systolic_above"),
        ("pre_dose.blood_pressure_above.diastolic", max(guide.diastolic, guide.diastolic_65_and_over), "<",
         alarm.diastolic_above, "vitals_alert.diastolic_above"),
        ("pre_dose.systolic_below", pre.systolic_below, ">=", alarm.systolic_below, "vitals_alert.systolic_below"),
        ("pre_dose.heart_rate_below", pre.heart_rate_below, ">=", alarm.heart_rate_below,
         "vitals_alert.heart_rate_below"),
        ("pre_dose.heart_rate_above", pre.heart_rate_above, "<=", alarm.heart_rate_above,
         "vitals_alert.heart_rate_above"),
        ("pre_dose.spo2_below", pre.spo2_below, ">=", alarm.spo2_below, "vitals_alert.spo2_below"),
        ("pre_dose.respiratory_rate_below", pre.respiratory_rate_below, ">=", alarm.respiratory_rate_below,
         "vitals_alert.respiratory_rate_below"),
        ("pre_dose.respiratory_rate_above", pre.respiratory_rate_above, "<=", alarm.respiratory_rate_above,
         "vitals_alert.respiratory_rate_above"),
        ("discharge.systolic_at_most", out.systolic_at_most, "<=", alarm.systolic_above, "vitals_alert.systolic_above"),
        ("discharge.diastolic_at_most", out.diastolic_at_most, "<=", alarm.diastolic_above,
         "vitals_alert.diastolic_above"),
        ("discharge.heart_rate_at_least", out.heart_rate_at_least, ">=", alarm.heart_rate_below,
         "vitals_alert.heart_rate_below"),
        ("discharge.heart_rate_at_most", out.heart_rate_at_most, "<=", alarm.heart_rate_above,
         "vitals_alert.heart_rate_above"),
        ("discharge.spo2_at_least", out.spo2_at_least, ">=", alarm.spo2_below, "vitals_alert.spo2_below"),
    ]
    holds = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}
    for field, value, relation, limit, name in pairs:
        if not holds[relation](value, limit):
            yield field, f"must be {relation} {name} ({limit}): the two contradict each other"
    for low, high in (("systolic_below", "systolic_above"), ("heart_rate_below", "heart_rate_above"),
                      ("respiratory_rate_below", "respiratory_rate_above")):
        if getattr(alarm, low) >= getattr(alarm, high):
            yield f"vitals_alert.{low}", f"must be below vitals_alert.{high}"


def _dose_violations(dose: DoseRules) -> Iterator[Violation]:
    for route in ("iv", "im"):
        rules = getattr(dose, route)
        low, high = rules.mg_per_kg
        if not 0 < low <= high:
            yield f"dose.{route}.mg_per_kg", "must be a range from a positive low to a high at least as large"
        if rules.hard_max_mg_per_kg < high:
            yield f"dose.{route}.hard_max_mg_per_kg", "must not be below the protocol maximum"
        if rules.hard_max_mg_per_kg > HARD_MAXIMUM_AT_MOST[route]:
            yield f"dose.{route}.hard_max_mg_per_kg", f"must be at most {HARD_MAXIMUM_AT_MOST[route]:g} mg/kg"
    low, high = dose.iv.infusion_minutes
    if not 0 < low <= high:
        yield "dose.iv.infusion_minutes", "must be a range of positive minutes"
    yield from _intranasal_violations(dose.intranasal)


def _intranasal_violations(nasal: IntranasalDose) -> Iterator[Violation]:
    if nasal.device_mg != INTRANASAL_DEVICE_MG:
        yield "dose.intranasal.device_mg", f"must be {INTRANASAL_DEVICE_MG}: one esketamine nasal device"
    if nasal.hard_max_mg > INTRANASAL_HARD_MAXIMUM_AT_MOST:
        yield "dose.intranasal.hard_max_mg", f"must be at most {INTRANASAL_HARD_MAXIMUM_AT_MOST} (the label)"
    named = [("mg", mg) for mg in nasal.mg] + [("mg_65_and_over", mg) for mg in nasal.mg_65_and_over]
    named += [(key, getattr(nasal, key)) for key in ("first_dose_mg_at_most", "first_dose_mg_at_most_65_and_over",
                                                      "step_mg_at_most", "hard_max_mg")]
    for key, mg in named:
        if mg <= 0 or mg % INTRANASAL_DEVICE_MG:
            yield f"dose.intranasal.{key}", f"{mg:g} mg is not whole {INTRANASAL_DEVICE_MG} mg devices"
    if max(nasal.mg + nasal.mg_65_and_over) > nasal.hard_max_mg:
        yield "dose.intranasal.hard_max_mg", "must not be below the protocol maximum"
    for key, limit in FIRST_DOSE_AT_MOST.items():
        if getattr(nasal, key) > limit:
            yield f"dose.intranasal.{key}", f"must be at most {limit} mg (the label)"
    if nasal.step_mg_at_most > INTRANASAL_DEVICE_MG:
        yield "dose.intranasal.step_mg_at_most", f"must be at most {INTRANASAL_DEVICE_MG} mg (one device)"


def _time_violations(rules: SessionRules) -> Iterator[Violation]:
    try:
        rules.zone  # noqa: B018 - resolving it is the check
    except (ZoneInfoNotFoundError, ValueError):
        yield "clinic_time_zone", f"{rules.clinic_time_zone!r} is not a known time zone"
    if rules.monitoring.minimum_minutes < MINIMUM_MONITORING_AT_LEAST:
        yield "monitoring.minimum_minutes", f"must be at least {MINIMUM_MONITORING_AT_LEAST} (two hours)"
    low, high = rules.monitoring.peak_reading_minutes
    if not low <= BP_PEAK_MINUTES <= high:
        yield "monitoring.peak_reading_minutes", f"must include {BP_PEAK_MINUTES} minutes, when blood pressure peaks"
    if rules.minimum_hours_between_doses < BETWEEN_DOSES_AT_LEAST_HOURS:
        yield "minimum_hours_between_doses", f"must be at least {BETWEEN_DOSES_AT_LEAST_HOURS}"
    planned = rules.planned_sessions
    for key, count in {"default": planned.default, **{f"by_route.{r}": n for r, n in planned.by_route.items()}}.items():
        if count > planned.max:
            yield f"planned_sessions.{key}", "must not exceed planned_sessions.max"
    if rules.maintenance.minimum_interval_days < MAINTENANCE_INTERVAL_AT_LEAST_DAYS:
        yield "maintenance.minimum_interval_days", f"must be at least {MAINTENANCE_INTERVAL_AT_LEAST_DAYS}: " \
                                                   "maintenance is at a longer interval than the acute course"
    if rules.integration.due_within_hours <= rules.integration.opens_after_hours:
        yield "integration.due_within_hours", "must be later than integration.opens_after_hours"


def _outcome_violations(outcomes: OutcomeRules) -> Iterator[Violation]:
    if outcomes.response_fall_percent != RESPONSE_FALL_PERCENT:
        yield "outcomes.response_fall_percent", f"must be {RESPONSE_FALL_PERCENT}: one definition of response"
    for instrument in ("phq9", "gad7", "pcl5", "pain_nrs"):
        rule = outcomes.instruments.get(instrument)
        if rule is None:
            yield f"outcomes.instruments.{instrument}", "is missing: every screened instrument has an outcome"
            continue
        where = f"outcomes.instruments.{instrument}"
        if instrument == "pcl5":
            low, high = PCL5_CUT_OFF_RANGE
            if not low - 1 <= rule.remission_at_most <= high - 1:
                yield f"{where}.remission_at_most", f"must be below the PCL-5 cut-off ({low}-{high})"
        elif rule.remission_at_most != REMISSION_AT_MOST[instrument]:
            yield f"{where}.remission_at_most", f"must be {REMISSION_AT_MOST[instrument]} (the published definition)"
        if rule.meaningful_baseline_at_least <= rule.remission_at_most:
            yield f"{where}.meaningful_baseline_at_least", "must be above remission_at_most"
    phq9 = outcomes.instruments.get("phq9")
    if phq9 is not None and phq9.meaningful_baseline_at_least != MEANINGFUL_PHQ9_BASELINE:
        yield "outcomes.instruments.phq9.meaningful_baseline_at_least", f"must be {MEANINGFUL_PHQ9_BASELINE}"
    rise = outcomes.deterioration_rise_at_least.get("phq9")
    if rise is None or not 1 <= rise <= PHQ9_DETERIORATION_AT_MOST:
        yield "outcomes.deterioration_rise_at_least.phq9", f"must be 1 to {PHQ9_DETERIORATION_AT_MOST}: " \
                                                           "deterioration is told, never switched off"
    review = outcomes.non_response_review
    if review.after_session > NON_RESPONSE_REVIEW["after_session_at_most"]:
        yield "outcomes.non_response_review.after_session", \
            f"must be at most {NON_RESPONSE_REVIEW['after_session_at_most']}"
    if review.fall_percent_below < NON_RESPONSE_REVIEW["fall_percent_below_at_least"]:
        yield "outcomes.non_response_review.fall_percent_below", \
            f"must be at least {NON_RESPONSE_REVIEW['fall_percent_below_at_least']}"
