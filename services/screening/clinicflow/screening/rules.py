"""The screening rule set: versioned, clinician-owned configuration (docs/clinical-rules.md: "never a bare constant").

The clinic edits a JSON file (``rulefiles/default.json`` ships the published defaults) and names it with
``SCREENING_RULES_FILE``; every score, flag and proposal records the version that produced it. At start the file is
checked for shape and for safety invariants (docs/clinical-rules.md §Rule files): a clinic may make any safety value
stricter, never looser than the published default, and the service refuses to start on a file that would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from clinicflow.shared.clinical import BLOOD_PRESSURE_GUIDE_AT_MOST, SEVERE_BLOOD_PRESSURE_AT_MOST
from clinicflow.shared.rulefiles import Violation, load_rule_file

BandedInstrument = Literal["phq9", "gad7", "pain_nrs"]
Instrument = Literal["phq9", "gad7", "pcl5", "pain_nrs"]

# Highest possible total of each banded instrument: a band table must cover 0 to this without a gap.
TOTAL_MAXIMUM = {"phq9": 27, "gad7": 21, "pain_nrs": 10}
# Published defaults that bound what a clinic may configure (docs/clinical-rules.md §2–3).
PHQ9_ITEM9_THRESHOLD = 1  # any endorsement of item 9 is clinically significant
GAD7_EVALUATION_AT_MOST = 10  # "≥ 10 warrants evaluation": a clinic may look earlier, not later
PCL5_CUT_OFF_RANGE = (31, 33)  # National Center for PTSD guidance
# Contraindications from the esketamine label and the APA consensus statement: a clinic may add codes or make a
# relative one absolute, never drop one or make an absolute one relative.
ABSOLUTE_FLOOR = frozenset({
    "aneurysmal_vascular_disease", "arteriovenous_malformation", "intracerebral_haemorrhage_history",
    "ketamine_hypersensitivity", "cardiovascular_event_within_6_weeks", "current_psychosis_or_mania", "pregnancy",
    "severe_hepatic_impairment", "uncontrolled_hypertension", "chronic_psychotic_illness",
})
RELATIVE_FLOOR = frozenset({
    "other_cardiovascular_or_cerebrovascular_disease", "raised_intracranial_or_intraocular_pressure",
    "psychosis_or_bipolar_history", "substance_use_disorder", "ketamine_misuse_history",
    "moderate_hepatic_impairment", "breastfeeding", "copd_or_sleep_apnoea", "untreated_hyperthyroidism",
    "bladder_symptoms_or_cystitis",
})
INTERACTING_FLOOR = frozenset({"benzodiazepines", "opioids", "psychostimulants", "maois"})
BASELINE_ALWAYS_FLOOR = frozenset({"phq9", "gad7"})


@dataclass(frozen=True)
class Band:
    """A named range of totals, inclusive at both ends."""

    low: int
    high: int
    name: str


@dataclass(frozen=True)
class RuleSet:
    """Cut-offs, bands and contraindication codes in force."""

    version: str
    bands: dict[str, tuple[Band, ...]]
    gad7_evaluation_threshold: int
    pcl5_provisional_cut_off: int
    phq9_item9_alert_threshold: int
    pre_dose_blood_pressure: dict[str, int]
    severe_blood_pressure: dict[str, int]
    absolute_contraindications: frozenset[str]
    relative_contraindications: frozenset[str]
    interacting_medicine_classes: frozenset[str]
    other_medicine_classes: frozenset[str]
    required_baseline: dict[str, tuple[str, ...]]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BloodPressureGuide(_Strict):
    systolic: int = Field(gt=0)
    diastolic: int = Field(gt=0)
    systolic_65_and_over: int = Field(gt=0)
    diastolic_65_and_over: int = Field(gt=0)


class SevereBloodPressure(_Strict):
    systolic: int = Field(gt=0, description="At or above this at screening: propose ineligible until controlled.")
    diastolic: int = Field(gt=0)


class ScreeningRuleFile(_Strict):
    """The rule file as the clinic writes it."""

    version: str = Field(min_length=1)
    owner: str = ""
    bands: dict[BandedInstrument, list[tuple[int, int, str]]]
    gad7_evaluation_threshold: int
    pcl5_provisional_cut_off: int
    phq9_item9_alert_threshold: int
    pre_dose_blood_pressure: BloodPressureGuide
    severe_blood_pressure: SevereBloodPressure
    absolute_contraindications: list[str]
    relative_contraindications: list[str]
    interacting_medicine_classes: list[str]
    other_medicine_classes: list[str]
    required_baseline: dict[str, list[Instrument]]


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and check a rule file (the packaged defaults when ``path`` is None); RuleFileError when unsafe."""
    packaged = resources.files(__package__) / "rulefiles" / "default.json"
    raw = load_rule_file(path, packaged, ScreeningRuleFile, violations)
    return RuleSet(
        version=raw.version,
        bands={k: tuple(Band(*b) for b in v) for k, v in raw.bands.items()},
        gad7_evaluation_threshold=raw.gad7_evaluation_threshold,
        pcl5_provisional_cut_off=raw.pcl5_provisional_cut_off,
        phq9_item9_alert_threshold=raw.phq9_item9_alert_threshold,
        pre_dose_blood_pressure=raw.pre_dose_blood_pressure.model_dump(),
        severe_blood_pressure=raw.severe_blood_pressure.model_dump(),
        absolute_contraindications=frozenset(raw.absolute_contraindications),
        relative_contraindications=frozenset(raw.relative_contraindications),
        interacting_medicine_classes=frozenset(raw.interacting_medicine_classes),
        other_medicine_classes=frozenset(raw.other_medicine_classes),
        required_baseline={k: tuple(v) for k, v in raw.required_baseline.items()},
    )


def violations(rules: ScreeningRuleFile) -> Iterator[Violation]:
    """Every safety invariant the file breaks, as (field, invariant)."""
    if rules.phq9_item9_alert_threshold != PHQ9_ITEM9_THRESHOLD:
        yield "phq9_item9_alert_threshold", "must be 1: any answer above 0 to item 9 is clinically significant"
    if not 1 <= rules.gad7_evaluation_threshold <= GAD7_EVALUATION_AT_MOST:
        yield "gad7_evaluation_threshold", f"must be from 1 to {GAD7_EVALUATION_AT_MOST}"
    low, high = PCL5_CUT_OFF_RANGE
    if not low <= rules.pcl5_provisional_cut_off <= high:
        yield "pcl5_provisional_cut_off", f"must be from {low} to {high}"
    for instrument, maximum in TOTAL_MAXIMUM.items():
        yield from _band_violations(instrument, rules.bands.get(instrument), maximum)
    yield from _blood_pressure_violations(rules)
    yield from _code_violations(rules)


def _band_violations(instrument: str, bands: list[tuple[int, int, str]] | None, maximum: int) -> Iterator[Violation]:
    field = f"bands.{instrument}"
    if not bands:
        yield field, "is missing: every score needs a band"
        return
    if bands[0][0] != 0 or bands[-1][1] != maximum:
        yield field, f"must cover every total from 0 to {maximum}"
    for (_, previous_high, _), (next_low, _, name) in zip(bands, bands[1:], strict=False):
        if next_low != previous_high + 1:
            yield field, f"band {name!r} must start right after the one before it (no gap, no overlap)"
    for band_low, band_high, name in bands:
        if band_low > band_high:
            yield field, f"band {name!r} ends before it starts"
    if len({name for *_, name in bands}) != len(bands):
        yield field, "band names must be unique"


def _blood_pressure_violations(rules: ScreeningRuleFile) -> Iterator[Violation]:
    guide, severe = rules.pre_dose_blood_pressure.model_dump(), rules.severe_blood_pressure.model_dump()
    for key, limit in BLOOD_PRESSURE_GUIDE_AT_MOST.items():
        if guide[key] > limit:
            yield f"pre_dose_blood_pressure.{key}", f"must be at most {limit} mmHg (the published guide)"
    for key, limit in SEVERE_BLOOD_PRESSURE_AT_MOST.items():
        if severe[key] > limit:
            yield f"severe_blood_pressure.{key}", f"must be at most {limit} mmHg (the in-session alarm limit)"
        guides = [guide[key], guide[f"{key}_65_and_over"]]
        if severe[key] <= max(guides):
            yield f"severe_blood_pressure.{key}", "must be above the pre-dose guide"


def _code_violations(rules: ScreeningRuleFile) -> Iterator[Violation]:
    absolute, relative = set(rules.absolute_contraindications), set(rules.relative_contraindications)
    for code in sorted(absolute & relative):
        yield "relative_contraindications", f"{code!r} cannot be both absolute and relative"
    for code in sorted(ABSOLUTE_FLOOR - absolute):
        yield "absolute_contraindications", f"must include {code!r} (a published absolute contraindication)"
    for code in sorted(RELATIVE_FLOOR - relative - absolute):
        yield "relative_contraindications", f"must include {code!r} (or make it absolute)"
    for medicine in sorted(INTERACTING_FLOOR - set(rules.interacting_medicine_classes)):
        yield "interacting_medicine_classes", f"must include {medicine!r}"
    for medicine in sorted(set(rules.interacting_medicine_classes) & set(rules.other_medicine_classes)):
        yield "other_medicine_classes", f"{medicine!r} cannot be both interacting and other"
    for instrument in sorted(BASELINE_ALWAYS_FLOOR - set(rules.required_baseline.get("always", ()))):
        yield "required_baseline.always", f"must include {instrument!r}"
