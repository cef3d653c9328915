"""Intake on the real broker and database: both ways in, validation, duplicates, privacy, the contact centre's
workflow, audit and erasure."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from clinicflow.intake.app import create_app
from clinicflow.intake.encryption import FieldCipher
from clinicflow.intake.settings import IntakeSettings
from clinicflow.localinfra.ports import free_port
from clinicflow.shared.catalogue import WebFormEnquirySubmitted
from clinicflow.shared.envelope import Envelope, new_envelope
from clinicflow.shared.kafka import read_dead_letters
from tests.integration.conftest import bearer
from tests.support import eventually, read_topic, serving, write_topic

pytestmark = pytest.mark.integration

SENTINEL = "Zqxwvyname"
FORM = {
    "first_name": SENTINEL, "last_name": "Sentinelsurname", "email": "zqxw.sentinel@example.org",
    "phone": "+44 7912 345678", "date_of_birth": "1980-02-29", "concerns": ["depression", "ptsd"],
    "story": "SENTINEL-STORY my own words", "preferred_contact_window": "evening", "consent_to_contact": True,
    "privacy_notice_version": "2026-01",
}
IDENTIFIERS = [SENTINEL, "Sentinelsurname", "zqxw.sentinel", "7912345678", "SENTINEL-STORY", "1980-02-29"]
STAFF = bearer("contact_centre", staff_id="cc-7")
READ = {**STAFF, "X-Access-Purpose": "contact_centre_workflow"}  # reading a person's details names why


async def events_of(kafka_settings, event_type: str, at_least: int = 1) -> list[Envelope]:
    records = await read_topic(kafka_settings, f"{event_type}.v1", at_least=at_least)
    return [Envelope.from_bytes(r.value) for r in records]


async def submit(intake, form=None, **headers) -> uuid.UUID:  # noqa: ANN001
    response = await intake.http.post("/enquiries", json=form or FORM, headers=headers)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["enquiry_id"])


async def test_a_web_form_post_makes_one_enquiry_and_one_coded_enquiry_received(intake, kafka_settings):
    enquiry_id = await submit(intake)
    [event] = await events_of(kafka_settings, "enquiry.received")
    assert event.subject == enquiry_id
    assert event.data["age_band"] == "45-54"
    assert event.data["concerns"] == ["depression", "ptsd"]
    assert event.data["preferred_contact_window"] == "evening"
    assert set(event.data) == {"channel", "concerns", "age_band", "preferred_contact_window", "consent_version",
                               "received_at"}


async def test_a_repeated_or_concurrent_idempotency_key_gives_the_same_enquiry_and_no_second_event(
    intake, kafka_settings
):
    first = await submit(intake, **{"Idempotency-Key": "click-1"})
    assert await submit(intake, **{"Idempotency-Key": "click-1"}) == first
    both = await asyncio.gather(*(intake.http.post("/enquiries", json=FORM, headers={"Idempotency-Key": "click-2"})
                                  for _ in range(2)))
    assert {r.status_code for r in both} == {201}
    assert len({r.json()["enquiry_id"] for r in both}) == 1
    events = await events_of(kafka_settings, "enquiry.received", at_least=2)
    assert sorted(str(e.subject) for e in events) == sorted([str(first), both[0].json()["enquiry_id"]])


async def test_an_idempotency_key_reused_for_another_form_is_refused(intake):
    await submit(intake, **{"Idempotency-Key": "k"})
    other = await intake.http.post("/enquiries", json={**FORM, "concerns": ["anxiety"]},
                                   headers={"Idempotency-Key": "k"})
    assert other.status_code == 409


BAD_FORMS = [
    ({**FORM, "consent_to_contact": False}, 422, "consent_to_contact"),
    ({**FORM, "date_of_birth": (datetime.now(UTC).date() - timedelta(days=365 * 17)).isoformat()}, 422,
     "date_of_birth"),
    ({k: v for k, v in FORM.items() if k not in ("email", "phone")}, 422, "email"),
    ({**FORM, "email": "nobody-at-example"}, 422, "email"),
    ({**FORM, "phone": "123"}, 422, "phone"),
    ({**FORM, "concerns": []}, 422, "concerns"),
    ({**FORM, "concerns": ["insomnia"]}, 422, "concerns"),
    ({**FORM, "story": "x" * 5001}, 422, "story"),
    ({**FORM, "consent_to_contact": "yes please"}, 422, "consent_to_contact"),
    ({**FORM, "favourite_colour": "blue"}, 422, "favourite_colour"),
]


@pytest.mark.parametrize(("form", "status", "field"), BAD_FORMS)
async def test_each_bad_form_is_refused_naming_the_field_and_nothing_is_stored_or_published(
    intake, pool, form, status, field
):
    response = await intake.http.post("/enquiries", json=form)
    assert response.status_code == status
    assert field in [part for error in response.json()["detail"] for part in map(str, error["loc"])]
    assert await pool.fetchval("SELECT count(*) FROM enquiries") == 0
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 0


async def test_an_under_18_gets_a_kind_explicit_refusal(intake):
    form = {**FORM, "date_of_birth": (datetime.now(UTC).date() - timedelta(days=365 * 16)).isoformat()}
    [error] = (await intake.http.post("/enquiries", json=form)).json()["detail"]
    assert error["type"] == "under_18"
    assert "aged 18 and over" in error["msg"]


async def test_malformed_json_and_oversized_bodies_are_refused(intake, pool):
    malformed = await intake.http.post("/enquiries", content=b'{"first_name": ',
                                       headers={"content-type": "application/json"})
    assert malformed.status_code == 422
    too_big = await intake.http.post("/enquiries", json={**FORM, "story": "x" * 200_000})
    assert too_big.status_code == 413
    assert await pool.fetchval("SELECT count(*) FROM enquiries") == 0


def webform_event(submission_id: str, **changes) -> Envelope:
    return new_envelope(
        type="webform.enquiry.submitted", source="webform/test", subject=uuid.uuid4(), time=datetime.now(UTC),
        data=WebFormEnquirySubmitted.model_validate({**FORM, "submission_id": submission_id, **changes}),
    )


async def test_a_form_event_makes_one_enquiry_even_when_redelivered_or_resubmitted(intake, kafka_settings, pool):
    event = webform_event("form-123")
    resubmitted = webform_event("form-123")  # the form's own retry: a new event id, the same submission id
    await write_topic(kafka_settings, "webform.enquiry.submitted.v1",
                      [event.to_bytes(), event.to_bytes(), resubmitted.to_bytes()])
    [received] = await events_of(kafka_settings, "enquiry.received")
    assert received.causation_id == event.id
    assert received.correlation_id == event.correlation_id
    assert await pool.fetchval("SELECT count(*) FROM enquiries") == 1


async def test_an_invalid_form_event_is_dead_lettered_with_the_field_and_without_its_values(
    intake, kafka_settings, pool
):
    await write_topic(kafka_settings, "webform.enquiry.submitted.v1",
                      [webform_event("form-9", email="not-an-email", phone=None).to_bytes()])
    dlq = f"{kafka_settings.topic_prefix}webform.enquiry.submitted.v1.dlq"
    [letter] = await eventually(lambda: read_dead_letters(kafka_settings, dlq))
    assert letter.headers["dlq_reason"] == "invalid_form"
    assert "email: value_error" in letter.headers["dlq_detail"]
    assert "not-an-email" not in json.dumps(letter.headers)
    assert await pool.fetchval("SELECT count(*) FROM enquiries") == 0


async def test_identifiers_submitted_both_ways_appear_in_no_event_no_log_and_no_plaintext_column(
    intake, kafka_settings, pool, capfd
):
    await submit(intake)
    await write_topic(kafka_settings, "webform.enquiry.submitted.v1", [webform_event("form-s").to_bytes()])
    await events_of(kafka_settings, "enquiry.received", at_least=2)

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    await admin.start()
    topics = [t for t in await admin.list_topics() if t.startswith(kafka_settings.topic_prefix)]
    await admin.close()
    inbound = f"{kafka_settings.topic_prefix}webform.enquiry.submitted.v1"  # the raw form: identifiable by design
    scanned = [t for t in topics if not t.startswith(inbound)]
    assert f"{kafka_settings.topic_prefix}enquiry.received.v1" in scanned
    for topic in scanned:
        for record in await read_topic(kafka_settings, topic.removeprefix(kafka_settings.topic_prefix), at_least=0,
                                       timeout=2):
            blob = (record.value or b"") + b"".join(v for _, v in record.headers) + (record.key or b"")
            assert not [i for i in IDENTIFIERS if i.encode() in blob], topic
    logs = "".join(capfd.readouterr())
    assert not [i for i in IDENTIFIERS if i in logs]
    raw = await pool.fetch("SELECT * FROM enquiry_personal_details")
    assert len(raw) == 2
    assert not [i for i in IDENTIFIERS for row in raw for v in row.values() if isinstance(v, bytes) and i.encode() in v]


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/enquiries"), ("get", "/enquiries/{id}"), ("post", "/enquiries/{id}/callbacks"),
    ("post", "/enquiries/{id}/assessment"), ("post", "/enquiries/{id}/close"),
    ("delete", "/enquiries/{id}/personal-data"),
])
async def test_staff_endpoints_refuse_missing_invalid_expired_and_wrong_role_tokens(intake, method, path):
    url = path.format(id=uuid.uuid4())
    expired = {"Authorization": "Bearer " + __import__("jwt").encode(
        {"sub": "x", "roles": ["admin", "contact_centre"], "exp": 1}, "test-only-secret-not-for-any-real-deployment")}
    for headers, expected in (({}, 401), ({"Authorization": "Bearer junk"}, 401), (expired, 401),
                              (bearer("therapist"), 403)):
        response = await intake.http.request(method, url, headers=headers, json={})
        assert response.status_code == expected, (headers, response.text)


async def test_every_read_of_personal_details_is_audited_and_the_trail_cannot_be_rewritten(intake, pool):
    enquiry_id = await submit(intake)
    unstated = await intake.http.get(f"/enquiries/{enquiry_id}", headers=STAFF)  # a purpose is never assumed
    assert unstated.status_code == 422 and unstated.json()["detail"][0]["loc"] == ["header", "x-access-purpose"]
    details = await intake.http.get(f"/enquiries/{enquiry_id}", headers=READ)
    assert details.json()["person"]["first_name"] == SENTINEL
    assert details.json()["person"]["phone"] == "+447912345678"
    await intake.http.get(f"/enquiries/{enquiry_id}", headers={**STAFF, "X-Access-Purpose": "assessment"})
    trail = await pool.fetch("SELECT staff_id, action, enquiry_id, purpose FROM audit_log ORDER BY id")
    assert [tuple(r) for r in trail] == [
        ("cc-7", "read_personal_details", enquiry_id, "contact_centre_workflow"),
        ("cc-7", "read_personal_details", enquiry_id, "assessment"),
    ]
    with pytest.raises(asyncpg.RaiseError, match="append-only"):
        await pool.execute("DELETE FROM audit_log")


async def test_the_contact_centre_works_an_enquiry_from_callbacks_to_booking(intake, kafka_settings):
    enquiry_id = await submit(intake)
    worklist = (await intake.http.get("/enquiries?status=new", headers=STAFF)).json()
    assert [e["enquiry_id"] for e in worklist] == [str(enquiry_id)]
    assert SENTINEL not in json.dumps(worklist)

    no_answer = await intake.http.post(f"/enquiries/{enquiry_id}/callbacks", json={"outcome": "no_answer"},
                                       headers=STAFF)
    assert no_answer.status_code == 201 and no_answer.json()["status"] == "in_progress"
    await intake.http.post(f"/enquiries/{enquiry_id}/callbacks", json={"outcome": "reached"}, headers=STAFF)
    when = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    bad_funding = await intake.http.post(f"/enquiries/{enquiry_id}/assessment", headers=STAFF, json={
        "assessment_at": when, "clinician_id": "cl-3", "funding": {"route": "insured"}})
    assert bad_funding.status_code == 422
    booked = await intake.http.post(f"/enquiries/{enquiry_id}/assessment", headers=STAFF, json={
        "assessment_at": when, "clinician_id": "cl-3",
        "funding": {"route": "insured", "authorisation_reference": "AUTH-123"}})
    assert booked.json()["status"] == "booked"

    callbacks = await events_of(kafka_settings, "enquiry.callback.logged", at_least=2)
    assert [(e.data["attempt_number"], e.data["outcome"], e.data["next_attempt_due"] is not None)
            for e in callbacks] == [(1, "no_answer", True), (2, "reached", False)]
    [booking] = await events_of(kafka_settings, "intake.assessment.booked")
    assert booking.data["clinician_id"] == "cl-3" and booking.data["funding_route"] == "insured"
    assert "AUTH-123" not in booking.to_bytes().decode()


async def test_illegal_moves_get_409_with_a_clear_message(intake, kafka_settings):
    enquiry_id = await submit(intake)
    closed = await intake.http.post(f"/enquiries/{enquiry_id}/close", json={"reason": "declined"}, headers=STAFF)
    assert closed.json()["status"] == "closed"
    refused = await intake.http.post(f"/enquiries/{enquiry_id}/assessment", headers=STAFF, json={
        "assessment_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(), "clinician_id": "c",
        "funding": {"route": "self_funded"}})
    assert refused.status_code == 409
    assert refused.json()["detail"] == "cannot book an assessment: the enquiry is closed"
    unreachable = await submit(intake, form={**FORM, "concerns": ["anxiety"]})
    early = await intake.http.post(f"/enquiries/{unreachable}/close", json={"reason": "unreachable"}, headers=STAFF)
    assert early.status_code == 409
    assert (await intake.http.post(f"/enquiries/{uuid.uuid4()}/close", json={"reason": "declined"},
                                   headers=STAFF)).status_code == 404
    [event] = await events_of(kafka_settings, "enquiry.closed")
    assert event.data == {"reason": "declined"}


async def test_erasure_removes_every_identifier_keeps_the_coded_history_and_is_audited(intake, kafka_settings, pool):
    enquiry_id = await submit(intake, **{"Idempotency-Key": "erase-me"})
    await intake.http.post(f"/enquiries/{enquiry_id}/callbacks", json={"outcome": "reached"}, headers=STAFF)
    assert (await intake.http.delete(f"/enquiries/{enquiry_id}/personal-data", headers=STAFF)).status_code == 403
    admin = bearer("admin", staff_id="adm-1")
    assert (await intake.http.delete(f"/enquiries/{enquiry_id}/personal-data", headers=admin)).status_code == 204
    assert (await intake.http.delete(f"/enquiries/{enquiry_id}/personal-data", headers=admin)).status_code == 409

    assert (await intake.http.get(f"/enquiries/{enquiry_id}", headers=READ)).status_code == 404
    refused = await intake.http.post(f"/enquiries/{enquiry_id}/callbacks", json={"outcome": "reached"}, headers=STAFF)
    assert refused.status_code == 409 and "erased" in refused.json()["detail"]
    [erased] = await events_of(kafka_settings, "enquiry.erased")
    assert erased.subject == enquiry_id

    dump = json.dumps([dict(r) for t in ("enquiries", "enquiry_personal_details", "callback_attempts", "audit_log")
                       for r in await pool.fetch(f"SELECT * FROM {t}")], default=str)
    assert not [i for i in IDENTIFIERS if i in dump]
    coded = await pool.fetchrow("SELECT status, age_band, callback_attempts, erased_at FROM enquiries")
    assert (coded["age_band"], coded["callback_attempts"]) == ("45-54", 1) and coded["erased_at"] is not None
    assert await pool.fetchval("SELECT count(*) FROM audit_log WHERE action = 'erase_personal_details'") == 1


async def test_after_key_rotation_old_rows_are_re_encrypted_and_still_readable(
    kafka_settings, database_settings, auth_settings, namespace, pool
):
    old, new = FieldCipher.new_key_setting("old"), FieldCipher.new_key_setting("new")

    async def run(keys: str):  # noqa: ANN202
        port = free_port()
        settings = IntakeSettings(http_port=port, db_schema=namespace, kafka=kafka_settings, database=database_settings,
                                  auth=auth_settings, encryption_keys=keys)
        return serving(create_app(settings), port)

    async with await run(old) as url, httpx.AsyncClient(base_url=url) as http:
        enquiry_id = (await http.post("/enquiries", json=FORM)).json()["enquiry_id"]
    assert await pool.fetchval("SELECT key_id FROM enquiry_personal_details") == "old"
    async with await run(f"{new},{old}") as url, httpx.AsyncClient(base_url=url) as http:
        await eventually(lambda: pool.fetchval("SELECT bool_and(key_id = 'new') FROM enquiry_personal_details"))
        details = await http.get(f"/enquiries/{enquiry_id}", headers=READ)
    assert details.json()["person"]["first_name"] == SENTINEL


async def test_a_work_list_offset_beyond_any_real_list_is_refused_not_a_server_error(intake):
    # Found by fuzzing: an offset past PostgreSQL's bigint reached the database as a 500.
    response = await intake.http.get("/enquiries?offset=451452385612082517639168", headers=STAFF)
    assert response.status_code == 422
