"""Clinical facts more than one service applies, each written once (docs/clinical-rules.md §3–4).

Screening checks a client's history against them and sessions each pre-dose check and in-session reading, so the two
can never disagree about where "older" begins or what blood pressure is too high.
"""

from __future__ import annotations

from clinicflow.shared.catalogue import AgeBand

# From 65 the blood-pressure guide and the first intranasal dose are lower (esketamine label).
AGE_65_AND_OVER: frozenset[AgeBand] = frozenset({"65-74", "75+"})

# The pre-dose blood-pressure guide (mmHg, at most): a clinic may tighten it in its rule files, never loosen it.
BLOOD_PRESSURE_GUIDE_AT_MOST = {"systolic": 140, "diastolic": 90, "systolic_65_and_over": 150,
                                "diastolic_65_and_over": 90}

# The in-session blood-pressure alarm (mmHg, at most); a history at or above it is uncontrolled hypertension.
SEVERE_BLOOD_PRESSURE_AT_MOST = {"systolic": 180, "diastolic": 110}
