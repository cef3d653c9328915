"""Screening on the real broker and database: cases from intake's events, measures, safety flags, history,
sign-off, FHIR export, and no answers on the bus."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle

from clinicflow.shared.catalogue import AlertAcknowledged, EnquiryClosed, EnquiryReceived, IntakeAssessmentBooked
from tests.integration.conftest import bearer
from tests.support import events_on, eventually, publish_event, read_topic

pytestmark = pytest.mark.integration

CARE = {"X-Access-Purpose": "direct_care"}  # every read of the record says why
NURSE = bearer("nurse", staff_id="rn-1") | CARE
CLINICIAN = bearer("clinician", staff_id="cl-1") | CARE
DOCTOR = bearer("doctor", staff_id="dr-1") | CARE
PHQ9_NO_RISK = [2, 2, 2, 2, 2, 2, 2, 1, 0]  # 15: moderately severe
PHQ9_ITEM9 = [1, 1, 1, 1, 1, 1, 1, 1, 1]  # 9: mild, item 9 answered 1
GAD7 = [2, 2, 2, 1, 1, 1, 1]  # 10: moderate
NO_CONCERNS = {"conditions": [], "medicine_classes": [], "blood_pressure": {"systolic": 128, "diastolic": 82},
               "weight_kg": 72.5}


async def open_pathway(kafka_settings, screening, *, concerns=("depression",), age_band="35-44") -> uuid.UUID:  # noqa: ANN001
    """What intake would publish: the enquiry, then the booked assessment (cl-1, who joins the care team); waits
    until the case is open, then cl-1 brings the doctor and the nurse onto the team."""
    pathway = uuid.uuid4()
    now = datetime.now(UTC)
    await publish_event(kafka_settings, "enquiry.received", pathway, EnquiryReceived(
        channel="web_form", concerns=list(concerns), age_band=age_band, preferred_contact_window="any",
        consent_version="v1", received_at=now))
    await publish_event(kafka_settings, "intake.assessment.booked", pathway, IntakeAssessmentBooked(
        assessment_at=now + timedelta(days=1), clinician_id="cl-1", funding_route="self_funded"))
    await eventually(lambda: _status(screening, pathway, 200, CLINICIAN))
    for member in ({"staff_id": "dr-1", "role": "doctor"}, {"staff_id": "rn-1", "role": "nurse"}):
        added = await screening.http.post(f"/pathways/{pathway}/care-team", headers=CLINICIAN, json=member)
        assert added.status_code == 204, added.text
    return pathway


async def _status(screening, pathway, expected: int, who: dict = NURSE) -> bool:  # noqa: ANN001
    return (await screening.http.get(f"/pathways/{pathway}/screening", headers=who)).status_code == expected


async def measure(screening, pathway, instrument, answers, context="baseline", **headers):  # noqa: ANN001, ANN201
    return await screening.http.post(f"/pathways/{pathway}/measures", headers={**NURSE, **headers},
                                     json={"instrument": instrument, "answers": answers, "context": context})


async def test_a_booked_assessment_opens_one_case_even_when_redelivered_or_rebooked(screening, kafka_settings, pool):
    pathway = await open_pathway(kafka_settings, screening)
    await publish_event(kafka_settings, "intake.assessment.booked", pathway, IntakeAssessmentBooked(
        assessment_at=datetime.now(UTC) + timedelta(days=2), clinician_id="cl-2", funding_route="insured"))
    # enquiry.received and both bookings handled
    await eventually(lambda: pool.fetchval("SELECT count(*) >= 3 FROM processed_messages"))
    assert await pool.fetchval("SELECT count(*) FROM screening_cases WHERE pathway_id = $1", pathway) == 1
    assert (await screening.http.get(f"/pathways/{uuid.uuid4()}/screening", headers=NURSE)).status_code == 404
    assert (await measure(screening, uuid.uuid4(), "phq9", PHQ9_NO_RISK)).status_code == 404


async def test_a_measure_is_scored_and_published_without_its_answers(screening, kafka_settings):
    pathway = await open_pathway(kafka_settings, screening, concerns=("ptsd",))
    phq9 = await measure(screening, pathway, "phq9", PHQ9_NO_RISK)
    assert phq9.status_code == 201
    assert {k: phq9.json()[k] for k in ("instrument", "total", "band", "flags")} == {
        "instrument": "phq9", "total": 15, "band": "moderately_severe", "flags": []}
    assert "provisional_ptsd" not in phq9.json()
    pcl5 = await measure(screening, pathway, "pcl5", [2] * 20)
    assert (pcl5.json()["total"], pcl5.json()["provisional_ptsd"]) == (40, True)

    events = await events_on(kafka_settings, "screening.measure.recorded", at_least=2)
    assert [(e.data["instrument"], e.data["total"], e.data["band"], e.data["context"]) for e in events] == [
        ("phq9", 15, "moderately_severe", "baseline"), ("pcl5", 40, "provisional_ptsd", "baseline")]
    for event in events:
        assert "answers" not in event.data
        assert event.data["rule_set_version"] == "screening-rules-2026.2"


@pytest.mark.parametrize(("instrument", "answers", "field"), [
    ("phq9", [1] * 8, "answers"),
    ("phq9", [1, 1, 1, 1, 1, 1, 1, 1, 4], "8"),
    ("gad7", [1, 1, "2", 1, 1, 1, 1], "2"),
    ("gad7", [1, 1, 1.5, 1, 1, 1, 1], "2"),
    ("pain_nrs", [True], "0"),
])
async def test_invalid_answers_get_422_naming_the_item_and_publish_nothing(
    screening, kafka_settings, pool, instrument, answers, field
):
    pathway = await open_pathway(kafka_settings, screening)
    response = await measure(screening, pathway, instrument, answers)
    assert response.status_code == 422
    assert field in [str(part) for error in response.json()["detail"] for part in error["loc"]]
    assert await pool.fetchval("SELECT count(*) FROM measures") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type LIKE 'screening.%'") == 0


async def test_item_nine_raises_one_urgent_flag_before_the_measure_event_even_when_the_request_is_retried(
    screening, kafka_settings, pool
):
    pathway = await open_pathway(kafka_settings, screening)
    first = await measure(screening, pathway, "phq9", PHQ9_ITEM9, **{"Idempotency-Key": "tablet-7"})
    again = await measure(screening, pathway, "phq9", PHQ9_ITEM9, **{"Idempotency-Key": "tablet-7"})
    assert first.json()["measure_id"] == again.json()["measure_id"]
    assert first.json()["flags"] == ["phq9_item9_self_harm_thoughts"]

    [flag] = await events_on(kafka_settings, "screening.risk.flagged")
    assert (flag.data["reason"], flag.data["severity"]) == ("phq9_item9_self_harm_thoughts", "urgent")
    order = await pool.fetch("SELECT event_type FROM outbox WHERE event_type LIKE 'screening.%' ORDER BY seq")
    assert [r["event_type"] for r in order] == ["screening.risk.flagged", "screening.measure.recorded"]
    case = (await screening.http.get(f"/pathways/{pathway}/screening", headers=NURSE)).json()
    assert case["risk_review_required"] is True


async def test_the_doctor_signs_off_after_history_baselines_and_risk_review(screening, kafka_settings):
    pathway = await open_pathway(kafka_settings, screening, age_band="65-74")
    sign = lambda headers, body: screening.http.post(f"/pathways/{pathway}/sign-off", headers=headers, json=body)  # noqa: E731
    assert (await sign(NURSE, {"outcome": "eligible"})).status_code == 403
    no_history = await sign(DOCTOR, {"outcome": "eligible"})
    assert no_history.status_code == 409 and "history" in no_history.json()["detail"]

    proposal = await screening.http.post(f"/pathways/{pathway}/history", headers=CLINICIAN, json={
        **NO_CONCERNS, "medicine_classes": ["benzodiazepines"], "blood_pressure": {"systolic": 148, "diastolic": 88}})
    assert proposal.json() == {"outcome": "needs_review", "absolute": [],
                               "relative": ["age_65_or_over", "interacting_medicines"],
                               "rule_set_version": "screening-rules-2026.2"}
    missing = await sign(DOCTOR, {"outcome": "eligible", "override_reason": "reviewed"})
    assert missing.status_code == 409 and "gad7, phq9" in missing.json()["detail"]

    await measure(screening, pathway, "phq9", PHQ9_ITEM9)
    await measure(screening, pathway, "gad7", GAD7)
    flagged = await sign(DOCTOR, {"outcome": "eligible", "override_reason": "reviewed"})
    assert flagged.status_code == 409 and "risk review" in flagged.json()["detail"]
    assert (await screening.http.post(f"/pathways/{pathway}/risk-review", headers=DOCTOR,
                                      json={"risk_level": "low"})).status_code == 200
    no_reason = await sign(DOCTOR, {"outcome": "eligible"})
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["loc"] == ["body", "override_reason"]
    signed = await sign(DOCTOR, {"outcome": "eligible", "override_reason": "benzodiazepine tapered; BP fine"})
    assert signed.status_code == 200 and signed.json()["status"] == "signed_off"
    assert (await sign(DOCTOR, {"outcome": "eligible", "override_reason": "again"})).status_code == 409

    [completed] = await events_on(kafka_settings, "screening.completed")
    assert completed.subject == pathway
    assert completed.data == {
        "outcome": "eligible", "proposed_outcome": "needs_review",
        "contraindication_codes": ["age_65_or_over", "interacting_medicines"], "overridden": False,
        "signed_by": "dr-1", "baseline_totals": {"phq9": 9, "gad7": 10}, "indications": ["depression"],
        "care_team": {"cl-1": "clinician", "dr-1": "doctor", "rn-1": "nurse"},
        "age_band": "65-74", "rule_set_version": "screening-rules-2026.2"}
    assert "benzodiazepine tapered" not in completed.to_bytes().decode()


async def test_an_override_is_flagged_on_the_completed_event(screening, kafka_settings):
    pathway = await open_pathway(kafka_settings, screening)
    await screening.http.post(f"/pathways/{pathway}/history", headers=CLINICIAN,
                              json={**NO_CONCERNS, "conditions": ["pregnancy"]})
    await measure(screening, pathway, "phq9", PHQ9_NO_RISK)
    await measure(screening, pathway, "gad7", GAD7)
    signed = await screening.http.post(f"/pathways/{pathway}/sign-off", headers=DOCTOR,
                                       json={"outcome": "ineligible"})
    assert signed.status_code == 200
    [completed] = await events_on(kafka_settings, "screening.completed")
    assert (completed.data["outcome"], completed.data["overridden"]) == ("ineligible", False)


async def test_a_closed_enquiry_closes_the_case(screening, kafka_settings):
    pathway = await open_pathway(kafka_settings, screening)
    await publish_event(kafka_settings, "enquiry.closed", pathway, EnquiryClosed(reason="declined"))
    await eventually(lambda: _closed(screening, pathway))
    assert (await measure(screening, pathway, "phq9", PHQ9_NO_RISK)).status_code == 409


async def _closed(screening, pathway) -> bool:  # noqa: ANN001
    return (await screening.http.get(f"/pathways/{pathway}/screening", headers=NURSE)).json()["status"] == "closed"


async def test_measures_export_as_valid_fhir_with_loinc_codes(screening, kafka_settings):
    pathway = await open_pathway(kafka_settings, screening)
    await measure(screening, pathway, "phq9", PHQ9_NO_RISK)
    await measure(screening, pathway, "pain_nrs", [6])
    exported = (await screening.http.get(f"/pathways/{pathway}/screening/fhir", headers=CLINICIAN)).json()
    Bundle.model_validate(exported)
    resources = [e["resource"] for e in exported["entry"]]
    assert [r["resourceType"] for r in resources] == ["QuestionnaireResponse", "Observation"] * 2
    assert resources[0]["questionnaire"] == "http://loinc.org/q/44249-1"
    assert [r["code"]["coding"][0]["code"] for r in resources if r["resourceType"] == "Observation"] == [
        "44261-6", "72514-3"]
    assert resources[1]["valueInteger"] == 15
    assert resources[0]["subject"] == {"reference": f"Patient/{pathway}"}


async def test_no_screening_event_carries_answers(screening, kafka_settings):
    pathway = await open_pathway(kafka_settings, screening)
    await measure(screening, pathway, "phq9", PHQ9_ITEM9)
    await measure(screening, pathway, "gad7", GAD7)
    await events_on(kafka_settings, "screening.measure.recorded", at_least=2)
    for topic in ("screening.measure.recorded.v1", "screening.risk.flagged.v1"):
        for record in await read_topic(kafka_settings, topic, at_least=1):
            data = json.loads(record.value)["data"]
            assert "answers" not in data and "items" not in data


@pytest.mark.parametrize(("body", "refused"), [
    ({"instrument": "phq9", "answers": [0, 0, 5, 0, 0, 0, 0, 0, 3]}, ["answers.2"]),  # another item out of range
    ({"instrument": "phq9", "answers": [0, "x", 0, 0, 0, 0, 0, 0, 3, 0]}, ["answers", "answers.1"]),
    ({"instrument": "phq9", "answers": [0] * 8 + [1], "context": "intake"}, ["context"]),  # a field the form refuses
    ({"instrument": "phq9", "answers": [0] * 8 + [2], "note": "x"}, ["note"]),  # an unknown field
])
async def test_a_readable_item9_answer_raises_its_alert_even_when_the_rest_of_the_form_is_refused(
    screening, kafka_settings, pool, body, refused
):
    pathway = await open_pathway(kafka_settings, screening)
    response = await screening.http.post(f"/pathways/{pathway}/measures", headers=NURSE, json=body)
    assert response.status_code == 422
    assert [".".join(map(str, e["loc"][1:])) for e in response.json()["detail"]] == refused
    [flag] = await events_on(kafka_settings, "screening.risk.flagged")
    assert (flag.subject, flag.data["reason"], flag.data["measure_id"]) == (
        pathway, "phq9_item9_self_harm_thoughts", None)
    assert await pool.fetchval("SELECT count(*) FROM measures") == 0  # the form itself is not recorded
    case = (await screening.http.get(f"/pathways/{pathway}/screening", headers=NURSE)).json()
    assert case["risk_review_required"] is True and len(case["risk_flags"]) == 1


async def test_a_refused_form_retried_then_corrected_under_one_key_raises_one_alert(screening, kafka_settings, pool):
    pathway = await open_pathway(kafka_settings, screening)
    key = {"Idempotency-Key": "tablet-9"}
    for _ in range(2):
        assert (await measure(screening, pathway, "phq9", [0, 0, 7, 0, 0, 0, 0, 0, 2], **key)).status_code == 422
    corrected = await measure(screening, pathway, "phq9", [0, 0, 1, 0, 0, 0, 0, 0, 2], **key)
    assert corrected.status_code == 201 and corrected.json()["flags"] == ["phq9_item9_self_harm_thoughts"]
    await events_on(kafka_settings, "screening.measure.recorded")
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'screening.risk.flagged'") == 1


@pytest.mark.parametrize("answers", [[0] * 8 + [0, 0, 5], [0] * 8, [0] * 8 + [4]])
async def test_no_alert_without_a_readable_item9_answer_at_or_above_1(screening, kafka_settings, pool, answers):
    pathway = await open_pathway(kafka_settings, screening)
    assert (await measure(screening, pathway, "phq9", answers)).status_code == 422
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type LIKE 'screening.%'") == 0


async def test_a_high_risk_review_blocks_an_eligible_sign_off_unless_overridden_with_a_reason(
    screening, kafka_settings
):
    pathway = await open_pathway(kafka_settings, screening)
    await screening.http.post(f"/pathways/{pathway}/history", headers=CLINICIAN, json=NO_CONCERNS)
    await measure(screening, pathway, "phq9", PHQ9_ITEM9)
    await measure(screening, pathway, "gad7", GAD7)
    reviewed = await screening.http.post(f"/pathways/{pathway}/risk-review", headers=DOCTOR,
                                         json={"risk_level": "high"})
    assert reviewed.json()["risk_level"] == "high"
    sign = lambda body: screening.http.post(f"/pathways/{pathway}/sign-off", headers=DOCTOR, json=body)  # noqa: E731
    refused = await sign({"outcome": "eligible"})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["type"] == "high_risk"
    signed = await sign({"outcome": "eligible", "override_reason": "psychiatry review: risk managed, safety plan"})
    assert signed.status_code == 200 and signed.json()["overridden"] is True
    [completed] = await events_on(kafka_settings, "screening.completed")
    assert (completed.data["proposed_outcome"], completed.data["overridden"]) == ("eligible", True)


@pytest.mark.parametrize(("bp", "outcome"), [((179, 109), "needs_review"), ((180, 100), "ineligible"),
                                             ((150, 110), "ineligible")])
async def test_blood_pressure_at_180_over_110_at_screening_proposes_ineligible(screening, kafka_settings, bp, outcome):
    pathway = await open_pathway(kafka_settings, screening)
    proposal = await screening.http.post(f"/pathways/{pathway}/history", headers=CLINICIAN, json={
        **NO_CONCERNS, "blood_pressure": {"systolic": bp[0], "diastolic": bp[1]}})
    assert proposal.json()["outcome"] == outcome
    assert ("severe_hypertension_at_screening" in proposal.json()["absolute"]) is (outcome == "ineligible")


async def test_uncontrolled_hypertension_and_chronic_psychotic_illness_can_be_entered(screening, kafka_settings):
    pathway = await open_pathway(kafka_settings, screening)
    proposal = await screening.http.post(f"/pathways/{pathway}/history", headers=CLINICIAN, json={
        **NO_CONCERNS, "conditions": ["uncontrolled_hypertension", "chronic_psychotic_illness"]})
    assert proposal.status_code == 200
    assert proposal.json()["absolute"] == ["chronic_psychotic_illness", "uncontrolled_hypertension"]


async def test_only_the_care_team_opens_the_record_and_every_read_and_refusal_is_logged_with_its_purpose(
    screening, kafka_settings, pool
):
    pathway = await open_pathway(kafka_settings, screening)
    stranger = bearer("doctor", staff_id="dr-9")
    case = f"/pathways/{pathway}/screening"
    unstated = await screening.http.get(case, headers=NURSE | {"X-Access-Purpose": ""})
    assert unstated.status_code == 422  # a purpose is never assumed
    assert (await screening.http.get(case, headers=bearer("nurse", staff_id="rn-1"))).status_code == 422
    refused = await screening.http.get(case, headers=stranger | CARE)
    assert refused.status_code == 403 and "care team" in refused.json()["detail"]
    assert (await screening.http.get(f"{case}/fhir", headers=stranger | CARE)).status_code == 403
    # a doctor not on the team cannot sign the case off either, nor put themselves on the team
    assert (await screening.http.post(f"/pathways/{pathway}/sign-off", headers=stranger | CARE,
                                      json={"outcome": "ineligible"})).status_code == 403
    assert (await screening.http.post(f"/pathways/{pathway}/care-team", headers=stranger,
                                      json={"staff_id": "dr-9", "role": "doctor"})).status_code == 403
    assert (await screening.http.get(case, headers=NURSE | {"X-Access-Purpose": "care_planning"})).status_code == 200

    reads = await pool.fetch("SELECT staff_id, resource, purpose, ground FROM clinical_reads ORDER BY id")
    assert [tuple(r) for r in reads] == [
        ("cl-1", "screening", "direct_care", "care_team"),  # open_pathway's wait for the case
        ("dr-9", "screening", "direct_care", "refused"), ("dr-9", "screening", "direct_care", "refused"),
        ("dr-9", "screening", "direct_care", "refused"), ("rn-1", "screening", "care_planning", "care_team")]
    team = (await screening.http.get(f"/pathways/{pathway}/care-team", headers=CLINICIAN)).json()
    assert team == [{"staff_id": "cl-1", "role": "clinician"}, {"staff_id": "dr-1", "role": "doctor"},
                    {"staff_id": "rn-1", "role": "nurse"}]
    with pytest.raises(Exception, match="append-only"):
        await pool.execute("DELETE FROM clinical_reads")


async def test_breaking_the_glass_needs_a_reason_opens_the_record_and_tells_the_clinical_lead(
    screening, kafka_settings, pool
):
    pathway = await open_pathway(kafka_settings, screening)
    stranger = bearer("doctor", staff_id="dr-9") | {"X-Access-Purpose": "break_glass"}
    case = f"/pathways/{pathway}/screening"
    terse = await screening.http.get(case, headers=stranger | {"X-Break-Glass-Reason": "urgent"})
    assert terse.status_code == 422 and terse.json()["detail"][0]["loc"] == ["header", "x-break-glass-reason"]
    reason = "covering the on-call rota, client in crisis on the phone"
    opened = await screening.http.get(case, headers=stranger | {"X-Break-Glass-Reason": reason})
    assert opened.status_code == 200 and opened.json()["pathway_id"] == str(pathway)

    again = await screening.http.get(f"{case}/fhir", headers=stranger | {"X-Break-Glass-Reason": reason})
    assert again.status_code == 200  # the same break, another page: logged, not told twice

    [told] = await events_on(kafka_settings, "screening.record.break_glass")
    assert (told.subject, told.data["staff_id"], told.data["resource"]) == (pathway, "dr-9", "screening")
    assert reason not in json.dumps(told.data)  # the reason stays in screening
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE event_type = 'screening.record.break_glass'") == 1
    lead = bearer("clinical_lead", staff_id="lead-1")
    reviews = (await screening.http.get("/break-glass", headers=lead)).json()
    assert [(r["staff_id"], r["pathway_id"], r["reason"]) for r in reviews] == [("dr-9", str(pathway), reason)] * 2
    assert (await screening.http.get("/break-glass", headers=DOCTOR)).status_code == 403
    # breaking the glass opens the record once; it does not put anyone on the team
    assert (await screening.http.get(case, headers=bearer("doctor", staff_id="dr-9") | CARE)).status_code == 403


async def test_the_doctor_who_acknowledges_a_safety_alert_joins_the_care_team(screening, kafka_settings):
    pathway = await open_pathway(kafka_settings, screening)
    await measure(screening, pathway, "phq9", PHQ9_ITEM9)
    [flag] = await events_on(kafka_settings, "screening.risk.flagged")
    on_call = bearer("doctor", staff_id="dr-oncall") | CARE
    case = f"/pathways/{pathway}/screening"
    assert (await screening.http.get(case, headers=on_call)).status_code == 403
    await publish_event(kafka_settings, "alert.acknowledged", pathway, AlertAcknowledged(
        alert_id=flag.data["alert_id"], acknowledged_by="dr-oncall"))
    await eventually(lambda: _status(screening, pathway, 200, on_call))
    team = (await screening.http.get(f"/pathways/{pathway}/care-team", headers=CLINICIAN)).json()
    assert {"staff_id": "dr-oncall", "role": "on_call"} in team
    reviewed = await screening.http.post(f"/pathways/{pathway}/risk-review", headers=on_call,
                                         json={"risk_level": "moderate"})
    assert reviewed.status_code == 200
