"""Contraindication checks that propose an outcome for the doctor (docs/clinical-rules.md §3). Pure: no I/O.

Automated rules only propose; a doctor decides (UK GDPR Art. 22). Sources: esketamine (Spravato) US prescribing
information §4–5 and EU SmPC §4.3–4.4; APA consensus statement on ketamine for mood disorders (Sanacora et al., JAMA
Psychiatry 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.screening.rules import RuleSet
from clinicflow.shared.clinical import AGE_65_AND_OVER
from clinicflow.shared.errors import InvalidField


@dataclass(frozen=True)
class History:
    """The mental and physical health history taken at the intake assessment (coded)."""

    conditions: frozenset[str]
    medicine_classes: frozenset[str]
    systolic: int
    diastolic: int
    weight_kg: float


@dataclass(frozen=True)
class Proposal:
    """What the rules propose, why, and under which rule-set version."""

    outcome: str  # eligible | needs_review | ineligible
    absolute: tuple[str, ...]
    relative: tuple[str, ...]
    rule_set_version: str

    @property
    def codes(self) -> tuple[str, ...]:
        """Every contraindication found."""
        return self.absolute + self.relative


def propose(history: History, *, age_band: str | None, rules: RuleSet) -> Proposal:
    """Absolute findings propose `ineligible`, relative ones `needs_review`, none `eligible`."""
    known = rules.absolute_contraindications | rules.relative_contraindications
    for code in sorted(history.conditions - known):
        raise InvalidField("conditions", "unknown_code", f"unknown condition code {code!r}")
    for code in sorted(history.medicine_classes - rules.interacting_medicine_classes - rules.other_medicine_classes):
        raise InvalidField("medicine_classes", "unknown_code", f"unknown medicine class {code!r}")
    absolute = sorted(history.conditions & rules.absolute_contraindications)
    relative = sorted(history.conditions & rules.relative_contraindications)
    older = age_band in AGE_65_AND_OVER
    if severe_blood_pressure(history.systolic, history.diastolic, rules=rules):
        absolute.append("severe_hypertension_at_screening")  # ineligible until controlled and screened again
    elif above_pre_dose_guide(history.systolic, history.diastolic, aged_65_or_over=older, rules=rules):
        relative.append("blood_pressure_above_pre_dose_guide")
    if history.medicine_classes & rules.interacting_medicine_classes:
        relative.append("interacting_medicines")
    if older:
        relative.append("age_65_or_over")
    outcome = "ineligible" if absolute else "needs_review" if relative else "eligible"
    return Proposal(outcome, tuple(sorted(absolute)), tuple(sorted(relative)), rules.version)


def severe_blood_pressure(systolic: int, diastolic: int, *, rules: RuleSet) -> bool:
    """Blood pressure at or above 180/110 mmHg, the in-session alarm level: uncontrolled hypertension."""
    severe = rules.severe_blood_pressure
    return systolic >= severe["systolic"] or diastolic >= severe["diastolic"]


def above_pre_dose_guide(systolic: int, diastolic: int, *, aged_65_or_over: bool, rules: RuleSet) -> bool:
    """Blood pressure above 140/90 mmHg (150/90 aged 65 or over): docs/clinical-rules.md §4."""
    guide = rules.pre_dose_blood_pressure
    limit_systolic = guide["systolic_65_and_over"] if aged_65_or_over else guide["systolic"]
    limit_diastolic = guide["diastolic_65_and_over"] if aged_65_or_over else guide["diastolic"]
    return systolic > limit_systolic or diastolic > limit_diastolic
