"""Courses as clinics run them, through HTTP on the real broker and database (docs/clinical-rules.md §4–5): the plan
a doctor sets, extends, moves to maintenance or stops; outcomes on every instrument; deterioration and the
non-response review; the team in the room; integration's outcome and its risk flag; cohort outcomes and FHIR."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from clinicflow.shared.catalogue import MeasureRecorded
from tests.integration.conftest import bearer
from tests.integration.sessions_kit import (
    ATTENDED,
    DOCTOR,
    IV,
    NURSE,
    PRE_DOSE,
    SUPPLY,
    THERAPIST,
    course_of,
    dose_a_session,
    post,
    run_a_session,
    schedule,
    start_course,
)
from tests.support import events_on, eventually, publish_event

pytestmark = pytest.mark.integration

LEAD = bearer("clinical_lead", staff_id="lead-1")


async def measure(kafka_settings, pathway, instrument: str, total: int) -> uuid.UUID:  # noqa: ANN001
    """A follow-up measure, as screening publishes it."""
    measure_id = uuid.uuid4()
    await publish_event(kafka_settings, "screening.measure.recorded", pathway, MeasureRecorded(
        measure_id=measure_id, instrument=instrument, total=total, band="x", context="follow_up",
        rule_set_version="screening-rules-2026.2"))
    return measure_id


async def seen(sessions, pathway, instrument: str, count: int) -> dict:  # noqa: ANN001
    """The course once ``count`` measures of ``instrument`` have reached it."""
    async def check():  # noqa: ANN202
        course = await course_of(sessions, pathway)
        return course if len(course["outcomes"][instrument]["trajectory"]) >= count else None
    return await eventually(check)


async def complete_integration(sessions, pathway, session_id: str, body=ATTENDED, status=200) -> dict:  # noqa: ANN001
    course = await course_of(sessions, pathway)
    integration = next(i for i in course["integrations"] if i["session_id"] == session_id)
    return await post(sessions, f"/integrations/{integration['integration_id']}/complete", body, headers=THERAPIST,
                      status=status)


async def test_a_doctor_plans_extends_and_stops_a_course_and_a_stopped_course_takes_no_session(
    sessions, kafka_settings, clock
):
    pathway, course = await start_course(sessions, kafka_settings)
    course_id = course["course_id"]
    await post(sessions, f"/courses/{course_id}/plan", {"route": "intranasal"}, headers=DOCTOR, status=204)
    assert (await course_of(sessions, pathway))["planned_sessions"] == 8  # the route's default
    await post(sessions, f"/courses/{course_id}/plan", {"planned_sessions": 9}, headers=DOCTOR, status=422)
    await post(sessions, f"/courses/{course_id}/plan", {"planned_sessions": 7}, headers=NURSE, status=403)
    await post(sessions, f"/courses/{course_id}/plan", {"planned_sessions": 7}, headers=DOCTOR, status=204)
    [*_, changed] = await events_on(kafka_settings, "course.plan.changed", at_least=2)
    assert (changed.data["planned_sessions"], changed.data["changed_by"]) == (7, "dr-1")

    await run_a_session(sessions, course_id, clock)
    clock.advance(days=2)
    waiting = await schedule(sessions, course_id, clock)
    await post(sessions, f"/courses/{course_id}/stop", {"reason": "tired_of_it"}, headers=DOCTOR, status=422)
    await post(sessions, f"/courses/{course_id}/stop", {"reason": "client_choice"}, headers=DOCTOR, status=204)
    [stopped] = await events_on(kafka_settings, "course.stopped")
    assert {k: stopped.data[k] for k in ("reason", "sessions_completed", "stopped_by")} == {
        "reason": "client_choice", "sessions_completed": 1, "stopped_by": "dr-1"}
    after = await course_of(sessions, pathway)
    assert (after["status"], after["ended_reason"]) == ("stopped", "client_choice")
    assert next(s for s in after["sessions"] if s["session_id"] == waiting["session_id"])["status"] == "cancelled"
    await schedule(sessions, course_id, clock, status=409)
    await post(sessions, f"/courses/{course_id}/plan", {"planned_sessions": 8}, headers=DOCTOR, status=409)
    # The session already given still has its integration.
    await complete_integration(sessions, pathway, after["sessions"][0]["session_id"])


async def test_only_a_responder_moves_to_maintenance_and_its_sessions_keep_their_interval(
    sessions, kafka_settings, clock
):
    pathway, course = await start_course(sessions, kafka_settings, baseline_phq9=20)
    course_id = course["course_id"]
    first = await run_a_session(sessions, course_id, clock)
    maintenance = {"sessions": 3, "interval_days": 14}
    await post(sessions, f"/courses/{course_id}/maintenance", maintenance, headers=DOCTOR, status=409)
    await measure(kafka_settings, pathway, "phq9", 9)  # fallen 55 %: a response
    await seen(sessions, pathway, "phq9", 1)
    await post(sessions, f"/courses/{course_id}/maintenance", {**maintenance, "interval_days": 6}, headers=DOCTOR,
               status=422)
    await post(sessions, f"/courses/{course_id}/maintenance", maintenance, headers=DOCTOR, status=204)
    now = await course_of(sessions, pathway)
    assert (now["phase"], now["planned_sessions"], now["maintenance_interval_days"]) == ("maintenance", 4, 14)
    await complete_integration(sessions, pathway, first["session_id"])
    clock.advance(days=13)
    await schedule(sessions, course_id, clock, status=409)  # inside the 14 days
    clock.advance(days=1)
    await schedule(sessions, course_id, clock)


async def test_every_instrument_reaches_the_course_with_its_trajectory_and_deterioration_is_an_alert(
    sessions, kafka_settings, clock
):
    pathway, course = await start_course(sessions, kafka_settings, baseline_phq9=12)
    await run_a_session(sessions, course["course_id"], clock)
    await measure(kafka_settings, pathway, "gad7", 4)
    await measure(kafka_settings, pathway, "pcl5", 40)  # not screened on PCL-5: nothing to follow
    worse = await measure(kafka_settings, pathway, "phq9", 17)  # up 5 from 12
    now = await seen(sessions, pathway, "phq9", 1)
    assert set(now["outcomes"]) == {"phq9", "gad7"}
    assert (now["outcomes"]["phq9"]["latest"], now["outcomes"]["phq9"]["trajectory"][0]["after_session"]) == (17, 1)
    gad7 = (await seen(sessions, pathway, "gad7", 1))["outcomes"]["gad7"]
    assert (gad7["baseline"], gad7["latest"], gad7["response"]) == (9, 4, None)  # baseline 9: too low to judge

    [deteriorated] = await events_on(kafka_settings, "course.deteriorated")
    assert {k: deteriorated.data[k] for k in ("instrument", "baseline", "latest", "measure_id")} == {
        "instrument": "phq9", "baseline": 12, "latest": 17, "measure_id": str(worse)}
    progress = await events_on(kafka_settings, "course.progress.updated", at_least=2)
    assert sorted(e.data["instrument"] for e in progress) == ["gad7", "phq9"]
    assert all(set(e.data["instruments"]) == {"phq9", "gad7"} for e in progress)


async def test_a_non_response_review_falls_due_after_session_4_once_and_a_doctor_decides_it(
    sessions, kafka_settings, clock
):
    pathway, course = await start_course(sessions, kafka_settings, baseline_phq9=20)
    course_id = course["course_id"]
    await post(sessions, f"/courses/{course_id}/review", {"decision": "continue"}, headers=DOCTOR, status=409)
    for number in range(1, 5):
        session = await run_a_session(sessions, course_id, clock)
        await measure(kafka_settings, pathway, "phq9", 17)  # fallen 15 %
        await seen(sessions, pathway, "phq9", number)
        await complete_integration(sessions, pathway, session["session_id"])
        clock.advance(days=2)
    await measure(kafka_settings, pathway, "phq9", 18)
    await seen(sessions, pathway, "phq9", 5)
    [due] = await events_on(kafka_settings, "course.review.due")
    assert (due.data["after_session"], due.data["phq9_change_percent"]) == (4, -15.0)
    await post(sessions, f"/courses/{course_id}/review", {"decision": "change_route_or_dose"}, headers=DOCTOR,
               status=204)
    review = (await course_of(sessions, pathway))["non_response_review"]
    assert (review["decision"], review["decided"]["by"]) == ("change_route_or_dose", "dr-1")
    await post(sessions, f"/courses/{course_id}/review", {"decision": "stop"}, headers=DOCTOR, status=409)
    assert len(await events_on(kafka_settings, "course.review.due", timeout=3)) == 1


async def test_no_dose_without_the_team_named_and_the_log_names_them(sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    sid = (await schedule(sessions, course["course_id"], clock))["session_id"]
    await post(sessions, f"/sessions/{sid}/pre-dose-check", PRE_DOSE)
    await post(sessions, f"/sessions/{sid}/dose-order", {k: v for k, v in IV.items() if k != "team"}, headers=DOCTOR)
    refused = await post(sessions, f"/sessions/{sid}/dose", SUPPLY, status=409)
    assert "supervising doctor" in refused["detail"]
    same = {"supervising_doctor": "dr-1", "monitoring_nurse": "dr-1", "therapist": "th-1"}
    await post(sessions, f"/sessions/{sid}/team", same, status=422)
    await post(sessions, f"/sessions/{sid}/team", IV["team"])
    await post(sessions, f"/sessions/{sid}/dose", SUPPLY)
    await post(sessions, f"/sessions/{sid}/therapy-note", {"themes": ["grief_and_loss"], "concerns": []},
               headers=NURSE, status=403)
    noted = await post(sessions, f"/sessions/{sid}/therapy-note",
                       {"themes": ["grief_and_loss"], "concerns": ["persisting_distress"]}, headers=THERAPIST)
    assert noted["therapy_note"] == {"themes": ["grief_and_loss"], "concerns": ["persisting_distress"]}
    await post(sessions, f"/sessions/{sid}/therapy-note", {"themes": ["astrology"]}, headers=THERAPIST, status=422)


async def test_a_risk_flagged_at_integration_is_urgent_and_holds_the_next_dose_until_a_doctor_reviews_it(
    sessions, kafka_settings, clock
):
    pathway, course = await start_course(sessions, kafka_settings)
    first = await run_a_session(sessions, course["course_id"], clock)
    await complete_integration(sessions, pathway, first["session_id"],
                               {"attended": False, "themes": ["insight"]}, status=422)
    flagged = await complete_integration(sessions, pathway, first["session_id"], {
        "attended": True, "themes": ["trauma"], "concerns": ["suicidal_thoughts"], "risk_flag": True})
    assert flagged["outcome"]["risk_flag"] is True
    [alert] = await events_on(kafka_settings, "integration.risk.flagged")
    assert (alert.data["severity"], alert.data["concerns"]) == ("urgent", ["suicidal_thoughts"])
    [completed] = await events_on(kafka_settings, "integration.completed")
    assert (completed.data["risk_flag"], completed.data["did_not_attend"]) == (True, False)

    clock.advance(days=2)
    sid = (await schedule(sessions, course["course_id"], clock))["session_id"]
    deferred = await post(sessions, f"/sessions/{sid}/pre-dose-check", PRE_DOSE)
    assert "safety_hold" in deferred["deferral_reasons"]
    assert "integration" in (await course_of(sessions, pathway))["safety_hold"]
    review = f"/integrations/{flagged['integration_id']}/risk-review"
    await post(sessions, review, {"risk_level": "low"}, headers=NURSE, status=403)
    await post(sessions, review, {"risk_level": "high"}, headers=DOCTOR)
    assert "high risk" in (await course_of(sessions, pathway))["safety_hold"]
    await post(sessions, review, {"risk_level": "low"}, headers=DOCTOR)
    assert (await course_of(sessions, pathway))["safety_hold"] is None
    ready = await post(sessions, f"/sessions/{sid}/pre-dose-check", PRE_DOSE)
    assert ready["status"] == "ready"


async def test_cohort_outcomes_per_instrument_count_completed_and_stopped_courses_without_identifiers(
    sessions, kafka_settings, clock
):
    responder, course = await start_course(sessions, kafka_settings, baseline_phq9=20)
    await post(sessions, f"/courses/{course['course_id']}/plan", {"planned_sessions": 1}, headers=DOCTOR, status=204)
    session = await run_a_session(sessions, course["course_id"], clock)
    await measure(kafka_settings, responder, "phq9", 4)
    await seen(sessions, responder, "phq9", 1)
    await complete_integration(sessions, responder, session["session_id"])
    assert (await course_of(sessions, responder))["status"] == "completed"
    stopped, other = await start_course(sessions, kafka_settings, baseline_phq9=16)
    await post(sessions, f"/courses/{other['course_id']}/stop", {"reason": "adverse_event"}, headers=DOCTOR,
               status=204)

    assert (await sessions.http.get("/outcomes", headers=NURSE)).status_code == 403
    rows = (await sessions.http.get("/outcomes", headers=LEAD)).json()["outcomes"]
    phq9 = {r["ended_as"]: r for r in rows if r["instrument"] == "phq9"}
    assert {k: phq9["completed"][k] for k in ("courses", "assessable", "responders", "remitters", "response_rate",
                                              "mean_change")} == {
        "courses": 1, "assessable": 1, "responders": 1, "remitters": 1, "response_rate": 1.0, "mean_change": -16.0}
    assert (phq9["stopped"]["courses"], phq9["stopped"]["responders"], phq9["stopped"]["mean_change"]) == (1, 0, 0.0)
    assert {r["rule_set_version"] for r in rows} == {"sessions-rules-2026.3"}

    exported = await sessions.http.get("/outcomes", headers={**LEAD, "Accept": "text/csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == len(rows) and table[0].keys() == rows[0].keys()
    for identifier in (str(responder), str(stopped), course["course_id"], "dr-1"):
        assert identifier not in exported.text


async def test_a_course_exports_as_valid_fhir_care_plan_consent_and_measures(sessions, kafka_settings, clock):
    from fhir.resources.R4B.bundle import Bundle

    pathway, course = await start_course(sessions, kafka_settings)
    await dose_a_session(sessions, course["course_id"], clock)
    await measure(kafka_settings, pathway, "phq9", 10)
    await seen(sessions, pathway, "phq9", 1)
    exported = (await sessions.http.get(f"/courses/{course['course_id']}/fhir", headers=NURSE)).json()
    Bundle.model_validate(exported)
    kinds = [e["resource"]["resourceType"] for e in exported["entry"]]
    assert kinds == ["CarePlan", "Consent", "Observation"]
    observation = exported["entry"][2]["resource"]
    assert (observation["code"]["coding"][0]["code"], observation["valueInteger"]) == ("44261-6", 10)
