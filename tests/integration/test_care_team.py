"""Care-team access to the course record, on the real broker and database: the team screening hands over, the team
named in the room, the doctor who answers an alert; everyone else refused or breaking the glass, which the clinical
lead is told about. (Screening's side: tests/integration/test_screening.py.)"""

from __future__ import annotations

import pytest

from clinicflow.shared.catalogue import AlertAcknowledged
from tests.integration.conftest import bearer
from tests.integration.sessions_kit import (
    CALM,
    CARE,
    DOCTOR,
    DOCTOR_2,
    IV,
    NURSE,
    PRE_DOSE,
    dose_a_session,
    post,
    schedule,
    start_course,
)
from tests.support import events_on, eventually, publish_event

pytestmark = pytest.mark.integration


async def _opens(sessions, path: str, headers: dict) -> int:  # noqa: ANN001
    return (await sessions.http.get(path, headers=headers)).status_code


async def test_the_team_screening_handed_over_opens_the_course_and_a_stranger_is_refused_or_breaks_the_glass(
    sessions, kafka_settings, clock, pool
):
    pathway, course = await start_course(sessions, kafka_settings)
    record = f"/pathways/{pathway}/course"
    assert await _opens(sessions, record, NURSE) == 200  # rn-1 was on screening's team
    assert await _opens(sessions, record, DOCTOR_2) == 403  # dr-2 never was
    assert await _opens(sessions, f"/courses/{course['course_id']}/fhir", DOCTOR_2) == 403
    assert await _opens(sessions, record, bearer("nurse", staff_id="rn-1")) == 422  # no purpose, no record

    reason = {"X-Access-Purpose": "break_glass", "X-Break-Glass-Reason": "covering dr-1's list, client unwell today"}
    assert await _opens(sessions, record, DOCTOR_2 | reason) == 200
    [told] = await events_on(kafka_settings, "course.record.break_glass")
    assert (told.subject, told.data["staff_id"], told.data["resource"]) == (pathway, "dr-2", "course")
    lead = bearer("clinical_lead", staff_id="lead-1")
    [review] = (await sessions.http.get("/break-glass", headers=lead)).json()
    assert (review["staff_id"], review["reason"]) == ("dr-2", "covering dr-1's list, client unwell today")
    grounds = await pool.fetch("SELECT staff_id, ground FROM clinical_reads WHERE staff_id = 'dr-2' ORDER BY id")
    assert [tuple(g) for g in grounds] == [("dr-2", "refused"), ("dr-2", "refused"), ("dr-2", "break_glass")]


async def test_people_named_in_the_room_join_the_team_and_only_a_member_can_name_them(
    sessions, kafka_settings, clock
):
    pathway, course = await start_course(sessions, kafka_settings)
    sid = (await schedule(sessions, course["course_id"], clock))["session_id"]
    await post(sessions, f"/sessions/{sid}/pre-dose-check", PRE_DOSE)
    stranger_team = {"supervising_doctor": "dr-2", "monitoring_nurse": "rn-2", "therapist": "th-1"}
    # dr-2 is not on the team, so cannot name a team (and with it, themself) into the record
    await post(sessions, f"/sessions/{sid}/team", stranger_team, headers=DOCTOR_2, status=403)
    assert await _opens(sessions, f"/pathways/{pathway}/course", bearer("nurse", staff_id="rn-2") | CARE) == 403
    await post(sessions, f"/sessions/{sid}/dose-order", {**IV, "team": stranger_team}, headers=DOCTOR)
    assert await _opens(sessions, f"/pathways/{pathway}/course", bearer("nurse", staff_id="rn-2") | CARE) == 200
    assert await _opens(sessions, f"/sessions/{sid}/fhir", DOCTOR_2) == 200
    team = (await sessions.http.get(f"/pathways/{pathway}/care-team", headers=DOCTOR)).json()
    assert {"staff_id": "rn-2", "role": "nurse"} in team and {"staff_id": "dr-2", "role": "doctor"} in team


async def test_the_doctor_who_acknowledges_a_vital_signs_alert_joins_the_team(sessions, kafka_settings, clock):
    pathway, course = await start_course(sessions, kafka_settings)
    session = await dose_a_session(sessions, course["course_id"], clock)
    clock.advance(minutes=20)
    await post(sessions, f"/sessions/{session['session_id']}/vitals", {**CALM, "spo2": 89, "moaas": 3}, status=201)
    [alert] = await events_on(kafka_settings, "session.vitals.alerted")
    on_call = bearer("doctor", staff_id="dr-oncall") | CARE
    assert await _opens(sessions, f"/pathways/{pathway}/course", on_call) == 403
    await publish_event(kafka_settings, "alert.acknowledged", pathway, AlertAcknowledged(
        alert_id=alert.data["alert_id"], acknowledged_by="dr-oncall"))

    async def opens() -> bool:
        return await _opens(sessions, f"/pathways/{pathway}/course", on_call) == 200

    await eventually(opens)
