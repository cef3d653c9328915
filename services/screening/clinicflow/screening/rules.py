"""The screening rule set: versioned, clinician-owned configuration (DOMAIN.md: "never a bare constant").

The clinic edits a JSON file (``rules/default.json`` ships the defaults from DOMAIN.md §2–3) and names it with
``SCREENING_RULES_FILE``; every score, flag and proposal records the version that produced it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

INSTRUMENTS = ("phq9", "gad7", "pcl5", "pain_nrs")


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
    absolute_contraindications: frozenset[str]
    relative_contraindications: frozenset[str]
    interacting_medicine_classes: frozenset[str]
    other_medicine_classes: frozenset[str]
    required_baseline: dict[str, tuple[str, ...]]


class InvalidRuleSet(ValueError):
    """The configured rule file breaks a constraint; the service refuses to start with it."""


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and check a rule file (the packaged defaults when ``path`` is None)."""
    text = Path(path).read_text() if path else (resources.files(__package__) / "rules" / "default.json").read_text()
    raw = json.loads(text)
    rules = RuleSet(
        version=raw["version"],
        bands={k: tuple(Band(*b) for b in v) for k, v in raw["bands"].items()},
        gad7_evaluation_threshold=raw["gad7_evaluation_threshold"],
        pcl5_provisional_cut_off=raw["pcl5_provisional_cut_off"],
        phq9_item9_alert_threshold=raw["phq9_item9_alert_threshold"],
        pre_dose_blood_pressure=raw["pre_dose_blood_pressure"],
        absolute_contraindications=frozenset(raw["absolute_contraindications"]),
        relative_contraindications=frozenset(raw["relative_contraindications"]),
        interacting_medicine_classes=frozenset(raw["interacting_medicine_classes"]),
        other_medicine_classes=frozenset(raw["other_medicine_classes"]),
        required_baseline={k: tuple(v) for k, v in raw["required_baseline"].items()},
    )
    _check(rules)
    return rules


def _check(rules: RuleSet) -> None:
    # PCL-5 cut-off: the National Center for PTSD's guidance allows 31 to 33.
    if not 31 <= rules.pcl5_provisional_cut_off <= 33:
        raise InvalidRuleSet("pcl5_provisional_cut_off must be between 31 and 33")
    for instrument, bands in rules.bands.items():
        edges = [(b.low, b.high) for b in bands]
        if any(low > high for low, high in edges) or any(a[1] + 1 != b[0] for a, b in zip(edges, edges[1:], strict=False)):
            raise InvalidRuleSet(f"bands of {instrument} must be ordered and contiguous")
    if rules.absolute_contraindications & rules.relative_contraindications:
        raise InvalidRuleSet("a contraindication cannot be both absolute and relative")
