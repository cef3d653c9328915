"""Sessions on the real broker and database: courses, the dosing-session state machine, alerts, discharge, the
integration scheduler across instances and restarts, and a whole course's outcome."""

from __future__ import annotations

import asyncio
import json
import uuid
from importlib import resources

import pytest

from clinicflow.shared.catalogue import MeasureRecorded
from tests.integration.conftest import sessions_instance
from tests.integration.sessions_kit import (
    ATTENDED,
    CALM,
    CHECKLIST,
    CLINICIAN,
    DOCTOR,
    IV,
    NURSE,
    PRE_DOSE,
    SETTLED,
    THERAPIST,
    course_of,
    dose_a_session,
    post,
    run_a_session,
    schedule,
    screening_completed,
    start_course,
)
from tests.support import events_on, eventually, publish_event

pytestmark = pytest.mark.integration

async def test_an_eligible_screening_opens_one_course_and_others_open_none(sessions, kafka_settings, pool):
    pathway, course = await start_course(sessions, kafka_settings)
    assert (course["planned_sessions"], course["baseline_phq9"], course["status"]) == (6, 18, "active")
    await publish_event(kafka_settings, "screening.completed", pathway, screening_completed())
    ineligible = uuid.uuid4()
    await publish_event(kafka_settings, "screening.completed", ineligible, screening_completed("ineligible"))
    await eventually(lambda: pool.fetchval("SELECT count(*) >= 3 FROM processed_messages"))
    [started] = await events_on(kafka_settings, "course.started")
    assert (started.subject, started.data["course_id"]) == (pathway, course["course_id"])
    assert (await sessions.http.get(f"/pathways/{ineligible}/course", headers=NURSE)).status_code == 404


async def test_a_monitored_session_is_logged_and_its_integration_falls_due(sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    discharged = await run_a_session(sessions, course["course_id"], clock)
    assert (discharged["status"], discharged["session_number"]) == ("discharged", 1)

    [logged] = await events_on(kafka_settings, "session.logged")
    assert {k: logged.data[k] for k in ("session_number", "route", "dose_mg", "dose_mg_per_kg", "monitoring_minutes",
                                        "lowest_moaas", "peak_dissociation")} == {
        "session_number": 1, "route": "iv", "dose_mg": 35.0, "dose_mg_per_kg": 0.5, "monitoring_minutes": 121,
        "lowest_moaas": 4, "peak_dissociation": 5}
    assert logged.data["vitals_summary"]["max_systolic"] == 150
    [due] = await events_on(kafka_settings, "integration.due")
    assert due.data["session_id"] == discharged["session_id"]

    integration = f"/integrations/{due.data['integration_id']}/complete"
    completed = await post(sessions, integration, ATTENDED, headers=THERAPIST)
    assert completed["completed_at"] is not None
    await post(sessions, integration, ATTENDED, headers=THERAPIST, status=409)
    await post(sessions, integration, ATTENDED, headers=NURSE, status=403)
    [done] = await events_on(kafka_settings, "integration.completed")
    assert done.data["completed_by"] == "th-1"


async def test_high_pre_dose_blood_pressure_defers_and_a_doctor_overrides_it_with_a_reason(
    sessions, kafka_settings, clock
):
    _, course = await start_course(sessions, kafka_settings, age_band="65-74")
    sid = (await schedule(sessions, course["course_id"], clock))["session_id"]
    deferred = await post(sessions, f"/sessions/{sid}/pre-dose-check", {**PRE_DOSE, "systolic": 151})
    assert (deferred["status"], deferred["deferral_reasons"]) == ("deferred", ["pre_dose_bp_above_guide"])
    [event] = await events_on(kafka_settings, "session.deferred")
    assert event.data["reason_codes"] == ["pre_dose_bp_above_guide"]
    await post(sessions, f"/sessions/{sid}/dose-order", IV, headers=DOCTOR, status=409)
    override = {"rule": "pre_dose_bp_above_guide", "reason": "repeat reading 148/88 after rest"}
    await post(sessions, f"/sessions/{sid}/overrides", override, headers=NURSE, status=403)
    ready = await post(sessions, f"/sessions/{sid}/overrides", override, headers=DOCTOR)
    assert ready["status"] == "ready"
    assert [(o["rule"], o["by"]) for o in ready["overrides"]] == [("pre_dose_bp_above_guide", "dr-1")]


async def test_a_vital_sign_breach_raises_an_urgent_alert_at_once(sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    session = await dose_a_session(sessions, course["course_id"], clock)
    clock.advance(minutes=20)
    breaches = await post(sessions, f"/sessions/{session['session_id']}/vitals",
                          {**CALM, "systolic": 185, "spo2": 91, "moaas": 3}, status=201)
    assert breaches == {"breached": ["systolic_above_180", "spo2_below_92"]}
    [alert] = await events_on(kafka_settings, "session.vitals.alerted")
    assert (alert.data["severity"], alert.data["breached"]) == ("urgent", ["systolic_above_180", "spo2_below_92"])


async def test_doses_outside_the_protocol_need_the_doctors_reason(sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    sid = (await schedule(sessions, course["course_id"], clock))["session_id"]
    await post(sessions, f"/sessions/{sid}/pre-dose-check", PRE_DOSE)
    await post(sessions, f"/sessions/{sid}/dose-order", IV, headers=NURSE, status=403)
    refused = await sessions.http.post(f"/sessions/{sid}/dose-order", json={**IV, "dose_mg_per_kg": 0.9},
                                       headers=DOCTOR)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "dose_mg_per_kg"]
    ordered = await post(sessions, f"/sessions/{sid}/dose-order", {**IV, "dose_mg_per_kg": 0.9,
                                                                   "override_reason": "partial response at 0.75"},
                         headers=DOCTOR)
    assert ordered["dose"] == {"route": "iv", "mg": 63.0, "mg_per_kg": 0.9, "weight_kg": 70.0, "infusion_minutes": 40,
                               "within_protocol": False, "overridden": True,
                               "product": None, "batch": None, "volume_drawn_ml": None}  # until it is given
    [override] = await events_on(kafka_settings, "session.overridden")
    assert {k: override.data[k] for k in ("step", "rule", "overridden_by")} == {
        "step": "dose", "rule": "dose_outside_protocol", "overridden_by": "dr-1"}


async def test_discharge_before_two_hours_is_refused(sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    session = await dose_a_session(sessions, course["course_id"], clock)
    clock.advance(minutes=40)
    await post(sessions, f"/sessions/{session['session_id']}/vitals", SETTLED, status=201)
    clock.advance(minutes=60)
    await post(sessions, f"/sessions/{session['session_id']}/vitals", SETTLED, status=201)
    early = await sessions.http.post(f"/sessions/{session['session_id']}/discharge", json={"checklist": CHECKLIST},
                                     headers=CLINICIAN)
    assert early.status_code == 409
    assert "100 of 120 minutes" in early.json()["detail"]


async def test_the_scheduler_fires_once_with_two_instances_and_catches_up_after_downtime(
    sessions_settings, clock, kafka_settings, pool
):
    async with sessions_instance(sessions_settings, clock) as one:
        _, course = await start_course(one, kafka_settings)
        await run_a_session(one, course["course_id"], clock)
        await events_on(kafka_settings, "integration.due")
    # Both instances are down while the 72-hour window passes; then two come back at once.
    clock.advance(hours=73)
    async with sessions_instance(sessions_settings, clock), sessions_instance(sessions_settings, clock):
        [overdue] = await events_on(kafka_settings, "integration.overdue")
        await asyncio.sleep(2)  # many scheduler ticks of both instances
    assert len(await events_on(kafka_settings, "integration.due")) == 1
    assert len(await events_on(kafka_settings, "integration.overdue", timeout=3)) == 1
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'integration.overdue'") == 1


async def test_a_six_session_course_reports_response_remission_and_completes(sessions, kafka_settings, clock):
    pathway, course = await start_course(sessions, kafka_settings, baseline_phq9=20)
    follow_ups = [16, 12, 9, 6, 4, 3]
    for number, phq9 in enumerate(follow_ups, start=1):
        await run_a_session(sessions, course["course_id"], clock)
        await publish_event(kafka_settings, "screening.measure.recorded", pathway, MeasureRecorded(
            measure_id=uuid.uuid4(), instrument="phq9", total=phq9, band="x", context="follow_up",
            rule_set_version="screening-rules-2026.2"))
        [*_, due] = await events_on(kafka_settings, "integration.due", at_least=number)
        await post(sessions, f"/integrations/{due.data['integration_id']}/complete", ATTENDED, headers=THERAPIST)
        clock.advance(days=2)  # the next dose at least 48 hours later
    await schedule(sessions, course["course_id"], clock, status=409)

    progress = await events_on(kafka_settings, "course.progress.updated", at_least=6)
    assert [(e.data["latest_phq9"], e.data["response"], e.data["remission"]) for e in progress] == [
        (16, False, False), (12, False, False), (9, True, False), (6, True, False), (4, True, True), (3, True, True)]
    [completed] = await events_on(kafka_settings, "course.completed")
    assert {k: v for k, v in completed.data.items() if k != "instruments"} == {
        "course_id": course["course_id"], "sessions_completed": 6, "baseline_phq9": 20, "final_phq9": 3,
        "change_percent": -85.0, "response": True, "remission": True}
    figures = completed.data["instruments"]
    assert [m["total"] for m in figures["phq9"]["trajectory"]] == follow_ups
    assert figures["gad7"] == {"baseline": 9, "latest": 9, "change_percent": 0.0, "response": None, "remission": None,
                               "trajectory": []}  # a baseline below 10: response and remission say nothing
    logged = await events_on(kafka_settings, "session.logged", at_least=6)
    assert [e.data["session_number"] for e in logged] == [1, 2, 3, 4, 5, 6]
    assert (await course_of(sessions, pathway))["status"] == "completed"


async def test_a_session_exports_as_valid_fhir(sessions, kafka_settings, clock):
    from fhir.resources.R4B.bundle import Bundle

    _, course = await start_course(sessions, kafka_settings)
    session = await run_a_session(sessions, course["course_id"], clock)
    exported = (await sessions.http.get(f"/sessions/{session['session_id']}/fhir", headers=NURSE)).json()
    Bundle.model_validate(exported)
    kinds = [e["resource"]["resourceType"] for e in exported["entry"]]
    assert kinds[:3] == ["Encounter", "Procedure", "MedicationAdministration"]
    codes = {e["resource"]["code"]["coding"][0]["code"] for e in exported["entry"]
             if e["resource"]["resourceType"] == "Observation"}
    assert codes == {"85354-9", "8867-4", "2708-6", "9279-1"}  # the pre-dose check's respiratory rate too
    administration = next(e["resource"] for e in exported["entry"]
                          if e["resource"]["resourceType"] == "MedicationAdministration")
    assert [p["actor"]["reference"] for p in administration["performer"]] == ["Practitioner/rn-1",
                                                                              "Practitioner/dr-1"]


async def test_a_delayed_integration_window_is_announced_when_it_opens_and_never_once_completed(
    sessions_settings, clock, kafka_settings, tmp_path
):
    rules = json.loads((resources.files("clinicflow.sessions") / "rulefiles" / "default.json").read_text())
    rules["integration"]["opens_after_hours"] = 24
    (tmp_path / "rules.json").write_text(json.dumps(rules))
    settings = sessions_settings.model_copy(update={"rules_file": str(tmp_path / "rules.json")})
    async with sessions_instance(settings, clock) as sessions:
        _, course = await start_course(sessions, kafka_settings)
        first = await run_a_session(sessions, course["course_id"], clock)
        integrations = (await course_of(sessions, course["pathway_id"]))["integrations"]
        done = next(i for i in integrations if i["session_id"] == first["session_id"])
        await post(sessions, f"/integrations/{done['integration_id']}/complete", ATTENDED, headers=THERAPIST)
        clock.advance(days=2)  # the first window opens meanwhile: completed, so never announced
        second = await run_a_session(sessions, course["course_id"], clock)
        await asyncio.sleep(1)
        assert await events_on(kafka_settings, "integration.due", at_least=0, timeout=1) == []
        clock.advance(hours=25)
        [due] = await events_on(kafka_settings, "integration.due")
        assert due.data["session_id"] == second["session_id"]
        await asyncio.sleep(1)
    assert len(await events_on(kafka_settings, "integration.due", timeout=2)) == 1
