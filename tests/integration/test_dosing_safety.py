"""Dosing-session safety through HTTP on the real broker and database (docs/clinical-rules.md §4): pre-dose ranges
and alerts, overrides one reason at a time, hard dose maxima, who did what, charting order, limits between doses,
safety holds from screening, adverse events, end states, discharge ranges, and closed or erased enquiries."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from clinicflow.shared.catalogue import EnquiryClosed, EnquiryErased, RiskFlagged, RiskReviewed
from tests.integration.sessions_kit import (
    CHECKLIST,
    CLINICIAN,
    DOCTOR,
    DOCTOR_2,
    IV,
    NURSE,
    PRE_DOSE,
    SETTLED,
    SUPPLY,
    course_of,
    dose_a_session,
    post,
    prepare,
    run_a_session,
    schedule,
    start_course,
)
from tests.support import events_on, eventually, publish_event

pytestmark = pytest.mark.integration


async def checked(sessions, clock, course_id: str, **changes) -> dict:  # noqa: ANN001
    sid = (await schedule(sessions, course_id, clock))["session_id"]
    return await post(sessions, f"/sessions/{sid}/pre-dose-check", {**PRE_DOSE, **changes})


@pytest.mark.parametrize(("changes", "reasons", "alarm"), [
    ({"spo2": 95, "heart_rate": 110, "respiratory_rate": 24, "systolic": 90, "diastolic": 60}, [], []),
    ({"spo2": 94}, ["pre_dose_spo2_low"], []),
    ({"spo2": 91}, ["pre_dose_spo2_low"], ["spo2_below_92"]),
    ({"heart_rate": 111}, ["pre_dose_heart_rate_high"], []),
    ({"heart_rate": 48}, ["pre_dose_heart_rate_low"], ["heart_rate_below_50"]),
    ({"systolic": 89}, ["pre_dose_bp_below_range"], ["systolic_below_90"]),
    ({"respiratory_rate": 9}, ["pre_dose_respiratory_rate_low"], ["respiratory_rate_below_10"]),
    ({"alcohol_or_drugs_last_24h": True, "fasted_as_instructed": False, "pregnancy_excluded": False},
     ["alcohol_or_drugs_last_24h", "not_fasted", "pregnancy_not_excluded"], []),
])
async def test_the_pre_dose_check_defers_outside_every_range_and_alarms_beyond_the_alarm_limits(
    sessions, kafka_settings, clock, changes, reasons, alarm
):
    _, course = await start_course(sessions, kafka_settings)
    session = await checked(sessions, clock, course["course_id"], **changes)
    assert (session["status"], session["deferral_reasons"]) == ("deferred" if reasons else "ready", reasons)
    if alarm:
        [alert] = await events_on(kafka_settings, "session.vitals.alerted")
        assert (alert.data["breached"], alert.data["severity"]) == (alarm, "urgent")
    else:
        assert await events_on(kafka_settings, "session.vitals.alerted", at_least=0, timeout=1) == []


async def test_a_doctor_overrides_a_deferral_one_reason_at_a_time_and_each_override_is_an_event(
    sessions, kafka_settings, clock
):
    _, course = await start_course(sessions, kafka_settings)
    session = await checked(sessions, clock, course["course_id"], systolic=145, escort_confirmed=False)
    sid = session["session_id"]
    bp = {"rule": "pre_dose_bp_above_guide", "reason": "repeat reading after rest 138/86"}
    await post(sessions, f"/sessions/{sid}/overrides", {**bp, "reason": "ok"}, headers=DOCTOR, status=422)
    still = await post(sessions, f"/sessions/{sid}/overrides", bp, headers=DOCTOR)
    assert still["status"] == "deferred"
    await post(sessions, f"/sessions/{sid}/overrides", bp, headers=DOCTOR, status=409)
    ready = await post(sessions, f"/sessions/{sid}/overrides",
                       {"rule": "no_escort_confirmed", "reason": "partner collecting at 3pm, confirmed by phone"},
                       headers=DOCTOR)
    assert ready["status"] == "ready"
    overrides = await events_on(kafka_settings, "session.overridden", at_least=2)
    assert [(e.data["step"], e.data["rule"], e.data["overridden_by"], e.data["rule_set_version"]) for e in overrides] \
        == [("pre_dose", "pre_dose_bp_above_guide", "dr-1", "sessions-rules-2026.3"),
            ("pre_dose", "no_escort_confirmed", "dr-1", "sessions-rules-2026.3")]
    assert "138/86" not in overrides[0].to_bytes().decode()  # the reason stays in sessions


@pytest.mark.parametrize(("order", "field", "kind"), [
    ({**IV, "dose_mg_per_kg": 1.01}, "dose_mg_per_kg", "above_hard_maximum"),
    ({"route": "im", "dose_mg_per_kg": 1.51}, "dose_mg_per_kg", "above_hard_maximum"),
    ({"route": "intranasal", "dose_mg": 112}, "dose_mg", "above_hard_maximum"),
    ({"route": "intranasal", "dose_mg": 70}, "dose_mg", "not_whole_devices"),
    ({"route": "iv", "dose_mg_per_kg": 0.5}, "infusion_minutes", "infusion_time_required"),
])
async def test_no_override_reason_passes_a_hard_limit(sessions, kafka_settings, clock, order, field, kind):
    _, course = await start_course(sessions, kafka_settings)
    sid = (await checked(sessions, clock, course["course_id"]))["session_id"]
    refused = await sessions.http.post(f"/sessions/{sid}/dose-order", headers=DOCTOR, json={
        **order, "override_reason": "the client asked for more; discussed at length"})
    assert refused.status_code == 422
    assert (refused.json()["detail"][0]["loc"][-1], refused.json()["detail"][0]["type"]) == (field, kind)


async def test_an_intranasal_first_dose_above_56_mg_needs_a_reason(sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    sid = (await checked(sessions, clock, course["course_id"]))["session_id"]
    nasal = {"route": "intranasal", "dose_mg": 84}
    await post(sessions, f"/sessions/{sid}/dose-order", nasal, headers=DOCTOR, status=422)
    ordered = await post(sessions, f"/sessions/{sid}/dose-order",
                         {**nasal, "override_reason": "tolerated 84 mg at another clinic last month"}, headers=DOCTOR)
    assert (ordered["dose"]["mg"], ordered["dose"]["within_protocol"]) == (84, False)


async def test_the_dose_records_who_ordered_gave_and_witnessed_it_and_goes_to_the_register_once_witnessed(
        sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    sid = (await checked(sessions, clock, course["course_id"]))["session_id"]
    await post(sessions, f"/sessions/{sid}/dose", SUPPLY, status=409)  # nothing ordered yet
    await post(sessions, f"/sessions/{sid}/dose-order", IV, headers=DOCTOR)
    await post(sessions, f"/sessions/{sid}/dose", SUPPLY, headers=CLINICIAN, status=403)
    for missing in ("product", "batch"):
        refused = await sessions.http.post(f"/sessions/{sid}/dose", headers=NURSE,
                                           json={k: v for k, v in SUPPLY.items() if k != missing})
        assert (refused.status_code, refused.json()["detail"][0]["loc"][-1]) == (422, missing)
    given = await post(sessions, f"/sessions/{sid}/dose", SUPPLY)  # the nurse gives it
    assert {k: given["dose"][k] for k in SUPPLY} == SUPPLY
    await post(sessions, f"/sessions/{sid}/dose/witness", headers=NURSE, status=409)  # not the giver
    witnessed = await post(sessions, f"/sessions/{sid}/dose/witness", headers=DOCTOR_2)
    assert (witnessed["checked"]["by"], witnessed["ordered"]["by"], witnessed["given"]["by"],
            witnessed["witnessed"]["by"]) == ("rn-1", "dr-1", "rn-1", "dr-2")
    [administered] = await events_on(kafka_settings, "session.dose.administered")
    assert {k: administered.data[k] for k in ("product", "batch", "volume_drawn_ml", "amount_mg", "given_by",
                                               "witnessed_by", "session_id")} == {
        **SUPPLY, "amount_mg": 35.0, "given_by": "rn-1", "witnessed_by": "dr-2", "session_id": sid}
    clock.advance(minutes=40)
    await post(sessions, f"/sessions/{sid}/vitals", SETTLED, status=201)
    clock.advance(minutes=85)
    await post(sessions, f"/sessions/{sid}/vitals", SETTLED, headers=CLINICIAN, status=201)
    discharged = await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST}, headers=CLINICIAN)
    assert discharged["discharged"]["by"] == "cl-1"
    [logged] = await events_on(kafka_settings, "session.logged")
    assert {k: logged.data[k] for k in ("ordered_by", "given_by", "witnessed_by", "infusion_minutes", "outcome")} == {
        "ordered_by": "dr-1", "given_by": "rn-1", "witnessed_by": "dr-2", "infusion_minutes": 40,
        "outcome": "discharged"}
    course_view = await course_of(sessions, course["pathway_id"])
    assert [v["charted_by"] for v in course_view["sessions"][0]["vitals"]] == ["rn-1", "rn-1", "cl-1"]


async def test_a_dose_never_witnessed_still_reaches_the_register_when_its_session_ends_early(
        sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    sid = (await checked(sessions, clock, course["course_id"]))["session_id"]
    await post(sessions, f"/sessions/{sid}/dose-order", IV, headers=DOCTOR)
    await post(sessions, f"/sessions/{sid}/dose", SUPPLY)
    clock.advance(minutes=10)
    await post(sessions, f"/sessions/{sid}/end", {"outcome": "abandoned", "reason": "client_distressed"})
    [administered] = await events_on(kafka_settings, "session.dose.administered")
    assert (administered.data["given_by"], administered.data["witnessed_by"], administered.data["batch"]) == (
        "rn-1", None, SUPPLY["batch"])


async def test_discharge_is_refused_until_a_second_person_witnessed_the_dose(sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    sid = (await checked(sessions, clock, course["course_id"]))["session_id"]
    await post(sessions, f"/sessions/{sid}/dose-order", IV, headers=DOCTOR)
    await post(sessions, f"/sessions/{sid}/dose", SUPPLY)
    clock.advance(minutes=40)
    await post(sessions, f"/sessions/{sid}/vitals", SETTLED, status=201)
    clock.advance(minutes=85)
    await post(sessions, f"/sessions/{sid}/vitals", SETTLED, status=201)
    refused = await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST}, headers=CLINICIAN,
                         status=409)
    assert "witnessed" in refused["detail"]


async def test_charting_late_keeps_clinical_order_and_cannot_shorten_monitoring(sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    checked_at = clock() - timedelta(hours=3)
    sid = (await post(sessions, f"/courses/{course['course_id']}/sessions",
                      {"scheduled_at": (checked_at - timedelta(minutes=10)).isoformat()}, status=201))["session_id"]
    session = await post(sessions, f"/sessions/{sid}/pre-dose-check",
                         {**PRE_DOSE, "measured_at": checked_at.isoformat()})
    assert (session["checked"]["at"], session["checked"]["entered_at"]) != (None, None)
    await post(sessions, f"/sessions/{sid}/dose-order", IV, headers=DOCTOR)
    before_check = (checked_at - timedelta(minutes=1)).isoformat()
    await post(sessions, f"/sessions/{sid}/dose", {**SUPPLY, "given_at": before_check}, status=422)
    late, future = checked_at + timedelta(minutes=61), clock() + timedelta(minutes=1)
    await post(sessions, f"/sessions/{sid}/dose", {**SUPPLY, "given_at": late.isoformat()}, status=409)
    await post(sessions, f"/sessions/{sid}/dose", {**SUPPLY, "given_at": future.isoformat()}, status=422)
    dosed_at = checked_at + timedelta(minutes=60)
    await post(sessions, f"/sessions/{sid}/dose", {**SUPPLY, "given_at": dosed_at.isoformat()})
    await post(sessions, f"/sessions/{sid}/dose/witness", headers=DOCTOR)
    await post(sessions, f"/sessions/{sid}/vitals", {**SETTLED, "measured_at": (dosed_at - timedelta(minutes=1))
                                                     .isoformat()}, status=422)
    for minutes in (40, 110):
        await post(sessions, f"/sessions/{sid}/vitals", {**SETTLED, "measured_at": (dosed_at + timedelta(
            minutes=minutes)).isoformat()}, status=201)
    # Two hours have passed on the clock since the dose was charted, but only 119 minutes since it was given.
    early = await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST, "discharged_at": (
        dosed_at + timedelta(minutes=119)).isoformat()}, headers=CLINICIAN, status=409)
    assert "119 of 120 minutes" in early["detail"]
    done = await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST, "discharged_at": (
        dosed_at + timedelta(minutes=120)).isoformat()}, headers=CLINICIAN)
    assert done["discharged"]["at"] == (dosed_at + timedelta(minutes=120)).isoformat().replace("+00:00", "Z")


async def test_no_second_dose_the_same_day_within_48_hours_or_while_the_first_session_is_open(
    sessions, kafka_settings, clock
):
    _, course = await start_course(sessions, kafka_settings)
    first = await dose_a_session(sessions, course["course_id"], clock)
    clock.advance(hours=1)
    same_day = await post(sessions, f"/courses/{course['course_id']}/sessions",
                          {"scheduled_at": clock().isoformat()}, status=409)
    assert "calendar day" in same_day["detail"] or "48 hours" in same_day["detail"]  # across midnight, the latter
    clock.advance(hours=46, minutes=58)  # 47 h 58 min after the dose
    await schedule(sessions, course["course_id"], clock, status=409)
    clock.advance(minutes=3)
    second = await schedule(sessions, course["course_id"], clock)
    open_first = await post(sessions, f"/sessions/{second['session_id']}/pre-dose-check", PRE_DOSE, status=409)
    assert "not yet discharged" in open_first["detail"]
    await post(sessions, f"/sessions/{first['session_id']}/end", {
        "outcome": "abandoned", "reason": "client_distressed", "at": (clock() - timedelta(hours=46)).isoformat()},
        status=422)  # older than the charting window
    await post(sessions, f"/sessions/{first['session_id']}/end", {"outcome": "abandoned",
                                                                  "reason": "client_distressed"})
    assert (await post(sessions, f"/sessions/{second['session_id']}/pre-dose-check", PRE_DOSE))["status"] == "ready"


async def test_an_item9_flag_after_sign_off_holds_the_next_dose_until_a_doctor_reviews_risk(
    sessions, kafka_settings, clock
):
    pathway, course = await start_course(sessions, kafka_settings)
    sid = (await checked(sessions, clock, course["course_id"]))["session_id"]
    flag = RiskFlagged(alert_id=uuid.uuid4(), reason="phq9_item9_self_harm_thoughts", severity="urgent",
                       rule_set_version="screening-rules-2026.2")
    flagged_at = clock()
    await publish_event(kafka_settings, "screening.risk.flagged", pathway, flag, time=flagged_at)
    await eventually(lambda: _held(sessions, pathway))
    held = await post(sessions, f"/sessions/{sid}/dose-order", IV, headers=DOCTOR, status=409)
    assert "safety hold" in held["detail"] and "item-9" in held["detail"]
    again = await post(sessions, f"/sessions/{sid}/pre-dose-check", PRE_DOSE)
    assert again["deferral_reasons"] == ["safety_hold"]
    await post(sessions, f"/sessions/{sid}/overrides", {"rule": "safety_hold", "reason": "I know this client well"},
               headers=DOCTOR, status=409)

    review = lambda level, minutes: publish_event(  # noqa: E731
        kafka_settings, "screening.risk.reviewed", pathway, RiskReviewed(
            risk_level=level, reviewed_by="dr-2", rule_set_version="screening-rules-2026.2"),
        time=flagged_at + timedelta(minutes=minutes))
    await review("high", 10)
    await eventually(lambda: _hold_says(sessions, pathway, "high risk"))
    await review("low", 20)
    await eventually(lambda: _held(sessions, pathway, held=False))
    assert (await post(sessions, f"/sessions/{sid}/pre-dose-check", PRE_DOSE))["status"] == "ready"
    await post(sessions, f"/sessions/{sid}/dose-order", IV, headers=DOCTOR)


async def test_a_risk_review_that_arrives_before_the_flag_it_covers_releases_it(sessions, kafka_settings, clock,
                                                                                   pool):
    pathway, _ = await start_course(sessions, kafka_settings)
    flagged_at = clock()
    await publish_event(kafka_settings, "screening.risk.reviewed", pathway, RiskReviewed(
        risk_level="moderate", reviewed_by="dr-2", rule_set_version="screening-rules-2026.2"),
        time=flagged_at + timedelta(minutes=5))
    await publish_event(kafka_settings, "screening.risk.flagged", pathway, RiskFlagged(
        alert_id=uuid.uuid4(), reason="phq9_item9_self_harm_thoughts", severity="urgent",
        rule_set_version="screening-rules-2026.2"), time=flagged_at)
    await eventually(lambda: pool.fetchval("SELECT count(*) = 2 FROM risk_findings WHERE pathway_id = $1", pathway))
    assert (await course_of(sessions, pathway))["safety_hold"] is None


async def _held(sessions, pathway, held: bool = True) -> bool:  # noqa: ANN001
    return ((await course_of(sessions, pathway))["safety_hold"] is not None) is held


async def _hold_says(sessions, pathway, words: str) -> bool:  # noqa: ANN001
    return words in ((await course_of(sessions, pathway))["safety_hold"] or "")


async def test_an_adverse_event_blocks_the_next_dose_until_a_doctor_reviews_it(sessions, kafka_settings, clock):
    _, course = await start_course(sessions, kafka_settings)
    first = await dose_a_session(sessions, course["course_id"], clock)
    clock.advance(minutes=30)
    ended = await post(sessions, f"/sessions/{first['session_id']}/end", {
        "outcome": "transferred_to_hospital", "reason": "chest_pain", "adverse_event_codes": ["hypertension"]})
    assert ended["status"] == "transferred_to_hospital"
    [logged] = await events_on(kafka_settings, "session.logged")
    assert (logged.data["outcome"], logged.data["ended_early"], logged.data["adverse_event_codes"]) == (
        "transferred_to_hospital", True, ["hypertension"])
    await post(sessions, f"/sessions/{first['session_id']}/adverse-events", {"adverse_event_codes": ["sneezing"]},
               status=422)
    clock.advance(days=3)
    second = await checked(sessions, clock, course["course_id"])
    assert second["deferral_reasons"] == ["unreviewed_adverse_event"]
    await post(sessions, f"/sessions/{first['session_id']}/adverse-events/review", headers=NURSE, status=403)
    reviewed = await post(sessions, f"/sessions/{first['session_id']}/adverse-events/review", headers=DOCTOR)
    assert reviewed["adverse_events_reviewed"]["by"] == "dr-1"
    again = await post(sessions, f"/sessions/{second['session_id']}/pre-dose-check", PRE_DOSE)
    assert again["status"] == "ready"


async def test_discharge_waits_for_the_discharge_ranges_and_a_doctor_may_override_a_clients_baseline(
    sessions, kafka_settings, clock
):
    _, course = await start_course(sessions, kafka_settings)
    sid = (await dose_a_session(sessions, course["course_id"], clock))["session_id"]
    clock.advance(minutes=40)
    await post(sessions, f"/sessions/{sid}/vitals", SETTLED, status=201)
    clock.advance(minutes=85)
    await post(sessions, f"/sessions/{sid}/vitals", {**SETTLED, "moaas": 4}, status=201)
    sedated = await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST}, headers=DOCTOR, status=409)
    assert "sedation not resolved" in sedated["detail"]
    clock.advance(minutes=10)
    await post(sessions, f"/sessions/{sid}/vitals", {**SETTLED, "systolic": 162, "heart_rate": 112}, status=201)
    high = await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST}, headers=CLINICIAN,
                      status=409)
    assert "discharge bp above range" in high["detail"] and "a doctor may override" in high["detail"]
    overrides = [{"rule": "discharge_bp_above_range", "reason": "known hypertensive, baseline 160s, GP aware"},
                 {"rule": "discharge_heart_rate_outside_range", "reason": "on salbutamol; resting 110 at screening"}]
    await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST, "overrides": overrides},
               headers=CLINICIAN, status=409)
    done = await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST, "overrides": overrides},
                      headers=DOCTOR)
    assert done["status"] == "discharged"
    events = await events_on(kafka_settings, "session.overridden", at_least=2)
    assert sorted(e.data["rule"] for e in events) == ["discharge_bp_above_range", "discharge_heart_rate_outside_range"]


async def test_a_closed_enquiry_withdraws_the_course_and_erasure_removes_free_text(
    sessions, kafka_settings, clock, pool
):
    pathway, course = await start_course(sessions, kafka_settings)
    done = await run_a_session(sessions, course["course_id"], clock)
    clock.advance(days=2)
    scheduled = await schedule(sessions, course["course_id"], clock)
    deferred = await post(sessions, f"/sessions/{scheduled['session_id']}/pre-dose-check",
                          {**PRE_DOSE, "systolic": 150})
    await post(sessions, f"/sessions/{deferred['session_id']}/overrides",
               {"rule": "pre_dose_bp_above_guide", "reason": "Zqx said her cat died this morning"}, headers=DOCTOR)
    await publish_event(kafka_settings, "enquiry.closed", pathway, EnquiryClosed(reason="declined"))
    withdrawn = await eventually(lambda: _status(sessions, pathway, "withdrawn"))
    assert [s["status"] for s in withdrawn["sessions"]] == ["discharged", "cancelled"]
    assert all(i["cancelled_at"] for i in withdrawn["integrations"] if i["completed_at"] is None)
    await schedule(sessions, course["course_id"], clock, status=409)
    clock.advance(days=4)  # the first session's integration window passes: no overdue notice for a withdrawn course
    await publish_event(kafka_settings, "enquiry.erased", pathway, EnquiryErased())
    await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM session_overrides WHERE reason IS NOT NULL"))
    assert await pool.fetchval("SELECT count(*) FROM session_overrides") == 1  # the coded override stays
    assert await events_on(kafka_settings, "integration.overdue", at_least=0, timeout=1) == []
    assert done["status"] == "discharged"


async def _status(sessions, pathway, status: str) -> dict | None:  # noqa: ANN001
    course = await course_of(sessions, pathway)
    return course if course["status"] == status else None


async def test_no_dose_before_a_recorded_preparation_session_and_written_consent_reconfirmed_at_each_check(
    sessions, kafka_settings, clock
):
    _, course = await start_course(sessions, kafka_settings, prepared=False)
    session = await checked(sessions, clock, course["course_id"])
    assert session["deferral_reasons"] == ["no_preparation_session", "no_written_consent"]
    sid = session["session_id"]
    await post(sessions, f"/sessions/{sid}/overrides", {"rule": "no_written_consent", "reason": "verbal consent ok"},
               headers=DOCTOR, status=409)
    await post(sessions, f"/courses/{course['course_id']}/preparation",
               {"topics": ["no_driving"], "safety_plan": ["crisis_line"]}, headers=NURSE, status=422)
    await prepare(sessions, course["course_id"], clock() - timedelta(minutes=30))
    view = await course_of(sessions, course["pathway_id"])
    assert (view["preparation"]["held"]["by"], view["consent"]["recorded"]["by"]) == ("th-1", "cl-1")
    again = await post(sessions, f"/sessions/{sid}/pre-dose-check", {**PRE_DOSE, "consent_reconfirmed": False})
    assert again["deferral_reasons"] == ["consent_not_reconfirmed"]
    assert (await post(sessions, f"/sessions/{sid}/pre-dose-check", PRE_DOSE))["status"] == "ready"


async def test_a_session_that_ended_early_is_replaced_so_the_course_can_still_complete(sessions, kafka_settings,
                                                                                      clock):
    _, course = await start_course(sessions, kafka_settings)
    for _ in range(5):
        await run_a_session(sessions, course["course_id"], clock)
        clock.advance(days=2)
    sixth = await dose_a_session(sessions, course["course_id"], clock)
    await post(sessions, f"/sessions/{sixth['session_id']}/end", {"outcome": "abandoned", "reason": "client_request"})
    clock.advance(days=2)
    replacement = await schedule(sessions, course["course_id"], clock)
    assert replacement["status"] == "scheduled"
    clock.advance(days=2, minutes=1)
    await schedule(sessions, course["course_id"], clock, status=409)  # six planned: five done, one to go


async def test_at_the_very_edge_of_the_discharge_ranges_and_the_hard_maximum_the_client_goes_ahead(
    sessions, kafka_settings, clock
):
    _, course = await start_course(sessions, kafka_settings)
    sid = (await checked(sessions, clock, course["course_id"]))["session_id"]
    at_maximum = await post(sessions, f"/sessions/{sid}/dose-order", {
        **IV, "dose_mg_per_kg": 1.0, "override_reason": "partial response at 0.75 twice; cardiology cleared"},
        headers=DOCTOR)
    assert at_maximum["dose"]["mg"] == 70.0
    await post(sessions, f"/sessions/{sid}/dose", SUPPLY)
    await post(sessions, f"/sessions/{sid}/dose/witness", headers=DOCTOR_2)
    clock.advance(minutes=40)
    await post(sessions, f"/sessions/{sid}/vitals", SETTLED, status=201)
    clock.advance(minutes=80)
    edge = {"systolic": 160, "diastolic": 100, "heart_rate": 110, "spo2": 94, "moaas": 5, "cadss": [1, 1, 0, 0, 0, 0]}
    assert (await post(sessions, f"/sessions/{sid}/vitals", edge, status=201))["breached"] == []
    assert (await post(sessions, f"/sessions/{sid}/discharge", {"checklist": CHECKLIST},
                       headers=CLINICIAN))["status"] == "discharged"
