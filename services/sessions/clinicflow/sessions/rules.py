"""The sessions rule set: monitoring thresholds, dose ranges, monitoring minimum and integration window.

Versioned, clinician-owned configuration (DOMAIN.md §4–5 defaults in ``rules/default.json``; a clinic names its
own file with ``SESSIONS_RULES_FILE``). Every deferral, alert, dose decision and discharge records the version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path


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


def load_rules(path: str | Path | None = None) -> SessionRules:
    """Read a rule file (the packaged defaults when ``path`` is None) and check it."""
    text = Path(path).read_text() if path else (resources.files(__package__) / "rules" / "default.json").read_text()
    raw = json.loads(text)
    rules = SessionRules(
        version=raw["version"],
        pre_dose_blood_pressure=raw["pre_dose_blood_pressure"],
        vitals_alert=raw["vitals_alert"],
        dose=raw["dose"],
        minimum_monitoring_minutes=raw["minimum_monitoring_minutes"],
        integration_opens_after_hours=raw["integration"]["opens_after_hours"],
        integration_due_within_hours=raw["integration"]["due_within_hours"],
        planned_sessions_default=raw["planned_sessions"]["default"],
        planned_sessions_max=raw["planned_sessions"]["max"],
    )
    # Spravato REMS: at least two hours of monitoring; a clinic may ask for more, never less.
    if rules.minimum_monitoring_minutes < 120:
        raise ValueError("minimum_monitoring_minutes must be at least 120")
    if not 1 <= rules.planned_sessions_default <= rules.planned_sessions_max:
        raise ValueError("planned_sessions.default must be between 1 and planned_sessions.max")
    return rules
