"""Outcomes across a course, on every instrument the client was screened on (docs/clinical-rules.md §2, §5):
the trajectory of each, response and remission against the course's baseline, deterioration, and when a
non-response review falls due. Pure: no I/O.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from clinicflow.sessions.rules import Instrument, OutcomeRules


@dataclass(frozen=True)
class CourseMeasure:
    """A questionnaire total taken during the course, and how many dosing sessions had been logged by then."""

    measure_id: uuid.UUID
    instrument: str
    total: int
    measured_at: datetime
    after_session: int


@dataclass(frozen=True)
class InstrumentProgress:
    """One instrument against the course's baseline. Response and remission are None where the baseline is too low
    for them to mean anything (e.g. PHQ-9 below 10)."""

    instrument: Instrument
    baseline: int
    latest: int
    change: int
    change_percent: float
    response: bool | None
    remission: bool | None
    trajectory: tuple[CourseMeasure, ...]


def instrument_progress(instrument: Instrument, baseline: int, measures: list[CourseMeasure], rules: OutcomeRules
                        ) -> InstrumentProgress:
    """Where one instrument stands: the latest total (the baseline until a measure is taken), change, response
    (a fall of at least the rules' percentage) and remission (at or below the rules' total)."""
    trajectory = tuple(sorted((m for m in measures if m.instrument == instrument),
                              key=lambda m: (m.measured_at, m.measure_id)))
    latest = trajectory[-1].total if trajectory else baseline
    rule = rules.instruments[instrument]
    meaningful = baseline >= rule.meaningful_baseline_at_least
    return InstrumentProgress(
        instrument=instrument, baseline=baseline, latest=latest, change=latest - baseline,
        change_percent=round((latest - baseline) / baseline * 100, 1) if baseline else 0.0,
        response=(baseline - latest) * 100 >= baseline * rules.response_fall_percent if meaningful else None,
        remission=latest <= rule.remission_at_most if meaningful else None,
        trajectory=trajectory,
    )


def course_progress(baselines: dict[str, int], measures: list[CourseMeasure], rules: OutcomeRules
                    ) -> dict[str, InstrumentProgress]:
    """Progress on every instrument the course has a baseline for (those the rules know)."""
    return {instrument: instrument_progress(instrument, baselines[instrument], measures, rules)
            for instrument in sorted(rules.instruments) if instrument in baselines}


def deterioration(progress: InstrumentProgress, rules: OutcomeRules) -> bool:
    """Worse than baseline by at least the rules' rise (PHQ-9: 5 points) on an instrument that has such a rule."""
    rise = rules.deterioration_rise_at_least.get(progress.instrument)
    return rise is not None and bool(progress.trajectory) and progress.change >= rise


def non_response_review_due(phq9: InstrumentProgress, rules: OutcomeRules) -> bool:
    """After the rules' session (4), a PHQ-9 that has fallen less than the rules' percentage (25 %) from a
    meaningful baseline calls for a doctor's review of the course."""
    review = rules.non_response_review
    latest = phq9.trajectory[-1] if phq9.trajectory else None
    return (latest is not None and latest.after_session >= review.after_session and phq9.response is not None
            and (phq9.baseline - phq9.latest) * 100 < phq9.baseline * review.fall_percent_below)
