"""Scoring of the validated questionnaires, item by item (docs/clinical-rules.md §2). Pure: no I/O.

Sources: PHQ-9 bands per Kroenke et al. 2001 and LOINC answer list LL382-3; GAD-7 per Spitzer et al. 2006; PCL-5 per
the US National Center for PTSD scoring guidance; pain NRS bands per the HL7 pain score value set. PHQ-9 and GAD-7
were developed by Drs Spitzer, Williams, Kroenke and colleagues with an educational grant from Pfizer Inc.; no
permission is required to use them. Item wording is deliberately not reproduced here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeGuard

from clinicflow.screening.rules import RuleSet
from clinicflow.shared.errors import InvalidField, InvalidFields

# Item 9 of the PHQ-9 asks about thoughts of self-harm (LOINC 44260-8); it is index 8 of the answers.
PHQ9_ITEM9 = 8
ITEM9_FLAG = "phq9_item9_self_harm_thoughts"
# PCL-5 DSM-5 clusters (1-based items): B 1–5, C 6–7, D 8–14, E 15–20, with how many items must score ≥ 2.
PCL5_CLUSTERS = {"B": (range(0, 5), 1), "C": (range(5, 7), 1), "D": (range(7, 14), 2), "E": (range(14, 20), 2)}
PCL5_ITEM_COUNTS_FROM = 2


@dataclass(frozen=True)
class Instrument:
    """An instrument's shape: how many items, each answered with an integer in [low, high]."""

    key: str
    items: int
    low: int
    high: int
    loinc_panel: str | None
    loinc_total: str


INSTRUMENTS = {
    "phq9": Instrument("phq9", 9, 0, 3, "44249-1", "44261-6"),
    "gad7": Instrument("gad7", 7, 0, 3, "69737-5", "70274-6"),
    "pcl5": Instrument("pcl5", 20, 0, 4, "101697-1", "101698-9"),
    "pain_nrs": Instrument("pain_nrs", 1, 0, 10, None, "72514-3"),
}


@dataclass(frozen=True)
class Score:
    """A scored questionnaire."""

    instrument: str
    total: int
    band: str
    flags: tuple[str, ...]
    provisional_ptsd: bool | None
    self_harm_item_answer: int | None


def readable_item9(instrument: str, answers: Sequence[object]) -> int | None:
    """The PHQ-9 item-9 answer when it can be read, whatever else is wrong with the form; None otherwise.

    Read before anything else is checked (docs/clinical-rules.md §2, Suicidality): a valid answer in ninth place is
    taken at its word even if other items are missing, extra or out of range, because a false alarm costs a phone
    call and a missed one may cost a life.
    """
    if instrument != "phq9" or len(answers) <= PHQ9_ITEM9:
        return None
    answer = answers[PHQ9_ITEM9]
    shape = INSTRUMENTS["phq9"]
    return answer if _is_answer(answer, shape) else None


def answer_problems(instrument: str, answers: Sequence[object]) -> list[InvalidField]:
    """Every reason the answers cannot be scored: the item count and each item out of range, all at once."""
    shape = INSTRUMENTS[instrument]
    problems = []
    if len(answers) != shape.items:
        problems.append(InvalidField("answers", "wrong_item_count",
                                     f"{instrument} has {shape.items} items; {len(answers)} answers were given"))
    for number, answer in enumerate(answers[:shape.items], start=1):
        if not _is_answer(answer, shape):
            problems.append(InvalidField(f"answers.{number - 1}", "answer_out_of_range",
                                         f"item {number} must be an integer from {shape.low} to {shape.high}"))
    return problems


def _is_answer(answer: object, shape: Instrument) -> TypeGuard[int]:
    return isinstance(answer, int) and not isinstance(answer, bool) and shape.low <= answer <= shape.high


def score(instrument: str, answers: Sequence[int], rules: RuleSet) -> Score:
    """Total, band and coded flags for one completed questionnaire; InvalidFields naming every bad item."""
    problems = answer_problems(instrument, answers)
    if problems:
        raise InvalidFields(problems)
    total = sum(answers)
    flags: list[str] = []
    provisional = None
    self_harm = None
    if instrument == "phq9":
        self_harm = answers[PHQ9_ITEM9]
        if self_harm >= rules.phq9_item9_alert_threshold:
            flags.append(ITEM9_FLAG)
    if instrument == "gad7" and total >= rules.gad7_evaluation_threshold:
        flags.append("gad7_warrants_evaluation")
    if instrument == "pcl5":
        provisional = total >= rules.pcl5_provisional_cut_off
        if provisional:
            flags.append("provisional_ptsd")
        if pcl5_meets_dsm5_clusters(answers):
            flags.append("pcl5_dsm5_clusters_met")
    return Score(instrument, total, band_of(instrument, total, rules), tuple(flags), provisional, self_harm)


def pcl5_meets_dsm5_clusters(answers: Sequence[int]) -> bool:
    """DSM-5 rule: an item rated 2 or more counts; at least 1 B, 1 C, 2 D and 2 E items."""
    return all(
        sum(answers[i] >= PCL5_ITEM_COUNTS_FROM for i in items) >= needed for items, needed in PCL5_CLUSTERS.values()
    )


def band_of(instrument: str, total: int, rules: RuleSet) -> str:
    """The severity band of a total (PCL-5 has no severity bands: only its provisional cut-off)."""
    if instrument == "pcl5":
        return "provisional_ptsd" if total >= rules.pcl5_provisional_cut_off else "below_cut_off"
    return next(b.name for b in rules.bands[instrument] if b.low <= total <= b.high)
