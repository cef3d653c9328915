"""Safety alerts that never stall, on the real broker and database with real SMTP and webhook servers: a backlog of
due deliveries after downtime, a channel that hangs, the on-call rota, acknowledgement links, ended enquiries, and
what the course tells the team (a risk flagged at integration, deterioration, the non-response review)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from clinicflow.shared.catalogue import (
    CourseDeteriorated,
    CourseReviewDue,
    EnquiryCallbackLogged,
    EnquiryClosed,
    EnquiryReceived,
    IntegrationCompleted,
    IntegrationRiskFlagged,
    RiskFlagged,
    SessionLogged,
    SessionOverridden,
    VitalsSummary,
)
from tests.integration.conftest import bearer, notifications_instance
from tests.support import events_on, eventually, publish_event

pytestmark = pytest.mark.integration


def risk_flag() -> RiskFlagged:
    return RiskFlagged(alert_id=uuid.uuid4(), reason="phq9_item9_self_harm_thoughts", severity="urgent",
                       rule_set_version="screening-rules-2026.1")


def callback_due(at: datetime) -> EnquiryCallbackLogged:
    return EnquiryCallbackLogged(attempt_number=1, outcome="no_answer", next_attempt_due=at, logged_by="cc-1")


async def inbox(service, staff_id: str, role: str) -> list[dict]:  # noqa: ANN001
    return (await service.http.get("/inbox", headers=bearer(role, staff_id=staff_id))).json()


async def test_a_backlog_of_inbox_email_and_webhook_deliveries_after_downtime_goes_out_exactly_once(
    notifications_settings, staff_channels, kafka_settings, clock, pool
):
    async with notifications_instance(notifications_settings, clock):
        for _ in range(3):  # three call-back reminders, due in a minute
            await publish_event(kafka_settings, "enquiry.callback.logged", uuid.uuid4(),
                                callback_due(clock() + timedelta(minutes=1)))
        await eventually(lambda: pool.fetchval("SELECT count(*) = 3 FROM deliveries WHERE status = 'pending'"))
    clock.advance(minutes=2)  # the service was down while they fell due, and while more events arrived
    await publish_event(kafka_settings, "enquiry.received", uuid.uuid4(), EnquiryReceived(
        channel="web_form", concerns=["anxiety"], age_band="25-34", preferred_contact_window="morning",
        consent_version="v1", received_at=datetime.now(UTC)))
    await publish_event(kafka_settings, "screening.risk.flagged", uuid.uuid4(), risk_flag())

    async with notifications_instance(notifications_settings, clock) as restarted:
        await eventually(lambda: pool.fetchval(
            "SELECT count(*) = 9 FROM deliveries WHERE status = 'sent'"))  # 3 reminders + 2 enquiry + 4 alert
        await asyncio.sleep(1.5)  # long enough for any repeat to show
        titles = sorted(i["title"] for i in await inbox(restarted, "cc-1", "contact_centre"))
        assert titles == ["Call-back attempt due"] * 3 + ["New enquiry to call back"]
    assert await pool.fetchval("SELECT count(*) FROM deliveries WHERE status <> 'sent'") == 0
    assert sorted(m.to for m in staff_channels.smtp.messages) == [
        "contact.centre@clinic.example", "doctor.one@clinic.example"]
    assert len(staff_channels.chat.accepted) == len(staff_channels.sms.accepted) == 1
    sent = await events_on(kafka_settings, "notification.sent", at_least=9)
    assert len(sent) == len({e.data["notification_id"] for e in sent}) == 9


async def test_escalation_goes_on_while_a_channel_hangs(notifications_settings, staff_channels, kafka_settings,
                                                       clock):
    staff_channels.chat.hang_seconds = 8  # every chat send blocks, as a dead webhook endpoint would
    async with notifications_instance(notifications_settings, clock) as service:
        await publish_event(kafka_settings, "screening.risk.flagged", uuid.uuid4(), risk_flag())
        await eventually(lambda: inbox(service, "dr-1", "doctor"))
        await eventually(lambda: staff_channels.chat.attempts)  # the dispatcher is now stuck in a chat send
        clock.advance(minutes=5)
        started = time.monotonic()
        [escalated] = await eventually(lambda: inbox(service, "dr-2", "doctor"), timeout=4)
        assert escalated["title"].startswith("ESCALATED") and time.monotonic() - started < 4
        staff_channels.chat.hang_seconds = 0


async def test_the_rota_decides_who_is_on_call_without_a_restart_and_escalation_repeats_until_acknowledged(
    notifications, staff_channels, kafka_settings, clock
):
    admin = bearer("admin", staff_id="admin-1")
    assert (await notifications.http.get("/on-call/doctor", headers=admin)).json()["chain"] == [
        "dr-1", "dr-2", "lead-1"]  # the directory file seeds the rota
    shift = {"role": "doctor", "staff_id": "dr-2", "position": 1, "starts_at": clock().isoformat(),
             "ends_at": (clock() + timedelta(hours=8)).isoformat()}
    created = await notifications.http.post("/rota", json=shift, headers=admin)
    assert created.status_code == 201, created.text
    assert (await notifications.http.get("/on-call/doctor", headers=admin)).json()["chain"] == ["dr-2", "lead-1"]

    flag = risk_flag()
    await publish_event(kafka_settings, "screening.risk.flagged", uuid.uuid4(), flag)
    await eventually(lambda: inbox(notifications, "dr-2", "doctor"))
    assert await inbox(notifications, "dr-1", "doctor") == []
    for recipient, role in [("lead-1", "clinical_lead"), ("dr-2", "doctor"), ("lead-1", "clinical_lead")]:
        before = len(await inbox(notifications, recipient, role))
        clock.advance(minutes=5)
        await eventually(lambda r=recipient, ro=role, b=before: _more(notifications, r, ro, b))
    alerts = (await notifications.http.get("/alerts?status=open", headers=bearer("doctor"))).json()
    assert [(a["alert_id"], a["level"], a["current_recipient"]) for a in alerts] == [
        (str(flag.alert_id), 3, "lead-1")]

    clock.advance(hours=9)  # the shift is over and nobody else is on: a gap goes straight to the clinical lead
    assert (await notifications.http.get("/on-call/doctor", headers=admin)).json()["chain"] == ["lead-1"]


async def _more(service, recipient: str, role: str, than: int) -> bool:  # noqa: ANN001
    return len(await inbox(service, recipient, role)) > than


async def test_only_an_admin_or_the_clinical_lead_changes_the_rota_and_only_with_staff_who_hold_the_role(
    notifications, clock
):
    shift = {"role": "doctor", "staff_id": "dr-2", "starts_at": clock().isoformat()}
    assert (await notifications.http.post("/rota", json=shift, headers=bearer("doctor"))).status_code == 403
    for wrong, field in [({"staff_id": "dr-9"}, "staff_id"), ({"staff_id": "rn-1"}, "role"),
                         ({"ends_at": (clock() - timedelta(hours=1)).isoformat()}, "ends_at")]:
        refused = await notifications.http.post("/rota", json={**shift, **wrong}, headers=bearer("admin"))
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", field]
    created = await notifications.http.post("/rota", json=shift, headers=bearer("clinical_lead", staff_id="lead-1"))
    shift_id = created.json()["shift_id"]
    [listed] = (await notifications.http.get("/rota?role=doctor", headers=bearer("nurse"))).json()
    assert (listed["shift_id"], listed["created_by"]) == (shift_id, "lead-1")
    assert (await notifications.http.delete(f"/rota/{shift_id}", headers=bearer("admin"))).status_code == 204
    assert (await notifications.http.delete(f"/rota/{shift_id}", headers=bearer("admin"))).status_code == 404
    assert (await notifications.http.get("/rota", headers=bearer("nurse"))).json() == []


async def test_an_alert_is_acknowledged_once_from_the_link_its_chat_message_carries(
    notifications, staff_channels, kafka_settings
):
    flag = risk_flag()
    await publish_event(kafka_settings, "screening.risk.flagged", uuid.uuid4(), flag)
    [chat] = await eventually(lambda: staff_channels.chat.accepted)
    [sms] = await eventually(lambda: staff_channels.sms.accepted)
    link = re.search(r"Acknowledge: (\S+)", chat["body"]["text"]).group(1)
    assert re.search(r"Acknowledge: \S+/ack/", sms["body"]["message"])
    path = "/ack/" + link.rsplit("/ack/", 1)[1]

    preview = await notifications.http.get(path)  # what a chat app's link preview does
    assert preview.status_code == 200 and 'method="post"' in preview.text
    assert (await notifications.http.get("/alerts?status=open", headers=bearer("doctor"))).json() != []

    confirmed = await notifications.http.post(path)
    assert confirmed.status_code == 200 and "Acknowledged" in confirmed.text
    [acknowledged] = await events_on(kafka_settings, "alert.acknowledged")
    assert acknowledged.data == {"alert_id": str(flag.alert_id), "acknowledged_by": "dr-1"}
    assert (await notifications.http.get("/alerts?status=open", headers=bearer("doctor"))).json() == []
    assert await inbox(notifications, "dr-1", "doctor") == []  # the inbox item is acknowledged too

    again = await notifications.http.post(path)
    assert again.status_code == 409 and "already been used" in again.text
    forged = path[:-1] + ("0" if path[-1] != "0" else "1")
    assert (await notifications.http.post(forged)).status_code == 410
    assert (await notifications.http.post("/ack/not-a-token")).status_code == 422


async def test_an_expired_acknowledgement_link_is_refused(notifications, staff_channels, kafka_settings, clock):
    await publish_event(kafka_settings, "screening.risk.flagged", uuid.uuid4(), risk_flag())
    [chat] = await eventually(lambda: staff_channels.chat.accepted)
    path = "/ack/" + re.search(r"/ack/(\S+)", chat["body"]["text"]).group(1)
    clock.advance(minutes=notifications.settings.ack_link_valid_minutes)
    expired = await notifications.http.post(path)
    assert expired.status_code == 410 and "expired" in expired.text
    assert len((await notifications.http.get("/alerts?status=open", headers=bearer("doctor"))).json()) == 1


async def test_a_closed_enquiry_cancels_its_pending_reminders_but_never_an_urgent_alert(
    notifications, staff_channels, kafka_settings, clock, pool
):
    pathway = uuid.uuid4()
    due = callback_due(clock() + timedelta(minutes=1))
    await publish_event(kafka_settings, "enquiry.callback.logged", pathway, due)
    await eventually(lambda: pool.fetchval("SELECT count(*) = 1 FROM deliveries WHERE status = 'pending'"))
    await publish_event(kafka_settings, "enquiry.closed", pathway, EnquiryClosed(reason="declined"))
    await eventually(lambda: pool.fetchval("SELECT count(*) = 1 FROM deliveries WHERE status = 'cancelled'"))
    await publish_event(kafka_settings, "screening.risk.flagged", pathway, risk_flag())
    clock.advance(minutes=2)
    await eventually(lambda: staff_channels.sms.accepted)  # the safety alert still goes out
    await asyncio.sleep(1)
    assert await inbox(notifications, "cc-1", "contact_centre") == []
    assert await pool.fetchval("SELECT status FROM deliveries WHERE event_type = 'enquiry.callback.logged'") == \
        "cancelled"


async def test_the_acknowledgement_link_page_needs_no_sign_in_but_reveals_nothing(notifications):
    async with httpx.AsyncClient(base_url=str(notifications.http.base_url)) as anonymous:
        page = await anonymous.get(f"/ack/{'0' * 32}.9999999999.{'0' * 32}")
    assert page.status_code == 200 and "pathway" not in page.text.lower()


async def test_overrides_and_sessions_that_ended_early_reach_the_clinical_lead_and_the_team(
    notifications, staff_channels, kafka_settings
):
    course, session = uuid.uuid4(), uuid.uuid4()
    await publish_event(kafka_settings, "session.overridden", uuid.uuid4(), SessionOverridden(
        course_id=course, session_id=session, step="dose", rule="dose_outside_protocol", overridden_by="dr-1",
        rule_set_version="sessions-rules-2026.3"))
    [mail] = await eventually(lambda: staff_channels.smtp.messages)
    assert (mail.to, mail.subject) == ("clinical.lead@clinic.example", "Safety rule overridden")
    assert "dose_outside_protocol" in mail.body
    now = datetime.now(UTC)
    await publish_event(kafka_settings, "session.logged", uuid.uuid4(), SessionLogged(
        course_id=course, session_id=session, session_number=2, route="iv", dose_mg=35.0, monitoring_minutes=45,
        vitals_summary=VitalsSummary(), discharged_at=now, rule_set_version="sessions-rules-2026.3",
        outcome="transferred_to_hospital", ended_early=True))
    await eventually(lambda: len(staff_channels.smtp.messages) == 6)
    assert sorted(m.to for m in staff_channels.smtp.messages[1:]) == sorted([
        "clinical.lead@clinic.example", "doctor.one@clinic.example", "doctor.two@clinic.example",
        "clinician.one@clinic.example", "nurse.one@clinic.example"])
    assert "transferred_to_hospital" in staff_channels.smtp.messages[-1].body


async def test_a_risk_flagged_at_integration_and_deterioration_page_the_on_call_doctor_on_every_channel(
    notifications, staff_channels, kafka_settings
):
    course = uuid.uuid4()
    flagged = IntegrationRiskFlagged(alert_id=uuid.uuid4(), integration_id=uuid.uuid4(), course_id=course,
                                     concerns=["suicidal_thoughts"], severity="urgent", flagged_by="th-1")
    await publish_event(kafka_settings, "integration.risk.flagged", uuid.uuid4(), flagged)
    [chat] = await eventually(lambda: staff_channels.chat.accepted)
    assert "risk flagged at integration" in chat["body"]["text"] and "suicidal thoughts" in chat["body"]["text"]
    await eventually(lambda: staff_channels.sms.accepted)
    [mail] = await eventually(lambda: staff_channels.smtp.messages)
    assert (mail.to, mail.subject) == ("doctor.one@clinic.example", "URGENT: risk flagged at integration")
    alerts = (await notifications.http.get("/alerts?status=open", headers=bearer("doctor"))).json()
    assert [a["alert_id"] for a in alerts] == [str(flagged.alert_id)]

    worse = CourseDeteriorated(alert_id=uuid.uuid4(), course_id=course, instrument="phq9", baseline=12, latest=17,
                               measure_id=uuid.uuid4(), rule_set_version="sessions-rules-2026.3")
    await publish_event(kafka_settings, "course.deteriorated", uuid.uuid4(), worse)
    # The on-call doctor urgently on every channel; the whole team by inbox and email (one email each).
    await eventually(lambda: len(staff_channels.smtp.messages) == 5)
    deteriorated = [m for m in staff_channels.smtp.messages if "deterioration" in m.subject.lower()]
    assert sorted(m.to for m in deteriorated) == sorted([
        "doctor.one@clinic.example", "doctor.two@clinic.example", "clinician.one@clinic.example",
        "nurse.one@clinic.example"])
    assert "rose from 12 at baseline to 17" in deteriorated[0].body
    alerts = (await notifications.http.get("/alerts?status=open", headers=bearer("doctor"))).json()
    assert {a["alert_id"] for a in alerts} == {str(flagged.alert_id), str(worse.alert_id)}


async def test_the_review_and_a_missed_integration_reach_the_people_who_act_on_them(
    notifications, staff_channels, kafka_settings
):
    await publish_event(kafka_settings, "course.review.due", uuid.uuid4(), CourseReviewDue(
        course_id=uuid.uuid4(), reason="non_response", after_session=4, phq9_change_percent=-12.5,
        rule_set_version="sessions-rules-2026.3"))
    await eventually(lambda: len(staff_channels.smtp.messages) == 2)
    assert sorted(m.to for m in staff_channels.smtp.messages) == ["doctor.one@clinic.example",
                                                                   "doctor.two@clinic.example"]
    assert "-12.5%" in staff_channels.smtp.messages[0].body
    await publish_event(kafka_settings, "integration.completed", uuid.uuid4(), IntegrationCompleted(
        integration_id=uuid.uuid4(), session_id=uuid.uuid4(), completed_by="th-1"))  # attended, no concern: quiet
    await publish_event(kafka_settings, "integration.completed", uuid.uuid4(), IntegrationCompleted(
        integration_id=uuid.uuid4(), session_id=uuid.uuid4(), completed_by="th-1", did_not_attend=True))
    await eventually(lambda: len(staff_channels.smtp.messages) == 2 + 5)
    missed = staff_channels.smtp.messages[2:]
    assert {m.subject for m in missed} == {"Integration session needs the team"}
    assert "did not attend True" in missed[0].body
