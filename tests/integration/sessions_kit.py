"""Steps of a dosing session over the sessions service's HTTP API, charted as staff would (who from the token,
when from the test's clock), shared by the sessions integration tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from clinicflow.shared.catalogue import ScreeningCompleted
from tests.integration.conftest import MovableClock, bearer
from tests.support import eventually, publish_event

CARE = {"X-Access-Purpose": "direct_care"}  # every read of the course record says why
DOCTOR = bearer("doctor", staff_id="dr-1") | CARE
DOCTOR_2 = bearer("doctor", staff_id="dr-2") | CARE
NURSE = bearer("nurse", staff_id="rn-1") | CARE
CLINICIAN = bearer("clinician", staff_id="cl-1") | CARE
THERAPIST = bearer("therapist", staff_id="th-1") | CARE
# The care team screening hands over with its sign-off (dr-1 signs); dr-2 is a doctor not on it.
SCREENING_TEAM = {"cl-1": "clinician", "rn-1": "nurse", "th-1": "therapist"}
CALM = {"systolic": 124, "diastolic": 80, "heart_rate": 72, "spo2": 98}
PRE_DOSE = {**CALM, "respiratory_rate": 14, "weight_kg": 70.0, "escort_confirmed": True,
            "interacting_medicines_since_last": False, "alcohol_or_drugs_last_24h": False,
            "fasted_as_instructed": True, "pregnancy_excluded": True, "consent_reconfirmed": True}
PREPARATION = {"topics": ["what_to_expect", "no_driving", "integration"],
               "safety_plan": ["warning_signs", "people_to_contact", "crisis_line"]}
SETTLED = {**CALM, "moaas": 5, "cadss": [0] * 6}
TEAM = {"supervising_doctor": "dr-1", "monitoring_nurse": "rn-1", "therapist": "th-1"}
IV = {"route": "iv", "dose_mg_per_kg": 0.5, "infusion_minutes": 40, "team": TEAM}
SUPPLY = {"product": "ketamine-10mg-ml-20ml", "batch": "KT2611A", "volume_drawn_ml": 3.5}  # 35 mg at 70 kg
ATTENDED = {"attended": True, "themes": ["insight"], "concerns": []}
CHECKLIST = dict.fromkeys(("vitals_back_in_range", "moaas_5", "escort_present", "no_driving_until_next_day_advised",
                           "instructions_given", "next_session_booked", "integration_booked"), True)


def screening_completed(outcome="eligible", baseline_phq9=18, age_band="35-44") -> ScreeningCompleted:  # noqa: ANN001
    return ScreeningCompleted(
        outcome=outcome, proposed_outcome="eligible", contraindication_codes=[], overridden=False, signed_by="dr-1",
        baseline_totals={"phq9": baseline_phq9, "gad7": 9}, care_team=SCREENING_TEAM, indications=["depression"],
        age_band=age_band,
        rule_set_version="screening-rules-2026.2")


async def start_course(sessions, kafka_settings, *, prepared: bool = True, **screening  # noqa: ANN001
                       ) -> tuple[uuid.UUID, dict]:
    """A signed-off eligible screening, as screening would publish it; waits for the course, then records its
    preparation session and written consent (six hours ago) unless ``prepared`` is False."""
    pathway = uuid.uuid4()
    await publish_event(kafka_settings, "screening.completed", pathway, screening_completed(**screening))
    course = await eventually(lambda: course_of(sessions, pathway))
    if prepared:
        await prepare(sessions, course["course_id"], sessions.clock() - timedelta(hours=6))
    return pathway, course


async def prepare(sessions, course_id: str, at: datetime) -> None:  # noqa: ANN001
    """Record the preparation session and the client's written consent, both at ``at``."""
    await post(sessions, f"/courses/{course_id}/preparation", {**PREPARATION, "held_at": at.isoformat()},
               headers=bearer("therapist", staff_id="th-1"), status=204)
    await post(sessions, f"/courses/{course_id}/consent", {"form_version": "consent-2026.1",
                                                           "signed_at": at.isoformat()}, headers=CLINICIAN,
               status=204)


async def course_of(sessions, pathway):  # noqa: ANN001, ANN201
    """The pathway's course as the API shows it, or None."""
    response = await sessions.http.get(f"/pathways/{pathway}/course", headers=NURSE)
    return response.json() if response.status_code == 200 else None


async def post(sessions, path, body=None, headers=NURSE, status=200):  # noqa: ANN001, ANN201
    """A call that must answer ``status``; its JSON."""
    response = await sessions.http.post(path, json=body or {}, headers=headers)
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


async def schedule(sessions, course_id, clock: MovableClock, status: int = 201) -> dict:  # noqa: ANN001
    """Schedule a session for now."""
    return await post(sessions, f"/courses/{course_id}/sessions", {"scheduled_at": clock().isoformat()},
                      status=status)


async def dose_a_session(sessions, course_id, clock: MovableClock, *, order=None) -> dict:  # noqa: ANN001
    """Schedule, check, order (doctor), give (nurse), witness (doctor): returns the dosed session."""
    sid = (await schedule(sessions, course_id, clock))["session_id"]
    await post(sessions, f"/sessions/{sid}/pre-dose-check", PRE_DOSE)
    await post(sessions, f"/sessions/{sid}/dose-order", order or IV, headers=DOCTOR)
    await post(sessions, f"/sessions/{sid}/dose", SUPPLY)
    return await post(sessions, f"/sessions/{sid}/dose/witness", headers=DOCTOR)


async def run_a_session(sessions, course_id, clock: MovableClock) -> dict:  # noqa: ANN001
    """A whole monitored session: dose, the ~40-minute and pre-discharge readings, two hours, discharge."""
    session = await dose_a_session(sessions, course_id, clock)
    sid = session["session_id"]
    clock.advance(minutes=40)
    await post(sessions, f"/sessions/{sid}/vitals", {**CALM, "systolic": 150, "moaas": 4, "cadss": [2, 1, 1, 0, 0, 1]},
               status=201)
    clock.advance(minutes=75)
    await post(sessions, f"/sessions/{sid}/vitals", SETTLED, status=201)
    clock.advance(minutes=6)
    return await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST}, headers=CLINICIAN)
