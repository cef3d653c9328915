"""Notifications on the real broker and database, delivering to a real SMTP server and real webhook servers:
routing, once-only delivery, retries, permanent failure, crash between send and record, escalation and privacy."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

import pytest

from clinicflow.shared.catalogue import (
    EnquiryReceived,
    IntakeAssessmentBooked,
    RegisterDiscrepancyFound,
    RegisterStockLow,
    RiskFlagged,
    VitalsAlerted,
)
from clinicflow.shared.envelope import new_envelope
from tests.integration.conftest import bearer, notifications_instance
from tests.support import events_on, eventually, publish_event, write_topic

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def received() -> EnquiryReceived:
    return EnquiryReceived(channel="web_form", concerns=["anxiety"], age_band="25-34",
                           preferred_contact_window="morning", consent_version="v1", received_at=datetime.now(UTC))


def risk_flag() -> RiskFlagged:
    return RiskFlagged(alert_id=uuid.uuid4(), reason="phq9_item9_self_harm_thoughts", severity="urgent",
                       rule_set_version="screening-rules-2026.1")


async def inbox(notifications, staff_id: str, role: str) -> list[dict]:  # noqa: ANN001
    response = await notifications.http.get("/inbox", headers=bearer(role, staff_id=staff_id))
    return response.json()


async def test_an_urgent_alert_reaches_the_on_call_doctor_on_every_channel(notifications, staff_channels,
                                                                           kafka_settings):
    pathway = uuid.uuid4()
    flag = risk_flag()
    await publish_event(kafka_settings, "screening.risk.flagged", pathway, flag)
    await eventually(lambda: staff_channels.smtp.messages and staff_channels.chat.accepted
                     and staff_channels.sms.accepted)
    [mail] = staff_channels.smtp.messages
    assert mail.to == "doctor.one@clinic.example"
    assert mail.subject == "URGENT: safety flag"
    assert str(pathway) in mail.body
    [sms] = staff_channels.sms.accepted
    assert sms["body"]["to"] == "+447700900003"
    assert staff_channels.chat.bad_signatures == staff_channels.sms.bad_signatures == 0
    [item] = await inbox(notifications, "dr-1", "doctor")
    assert (item["priority"], item["alert_id"]) == ("urgent", str(flag.alert_id))
    sent = await events_on(kafka_settings, "notification.sent", at_least=4)
    assert sorted(e.data["channel"] for e in sent) == ["chat", "email", "inbox", "sms"]
    assert {e.data["recipient_role"] for e in sent} == {"doctor"}


async def test_each_routing_rule_reaches_its_staff(notifications, staff_channels, kafka_settings):
    await publish_event(kafka_settings, "enquiry.received", uuid.uuid4(), received())
    await publish_event(kafka_settings, "intake.assessment.booked", uuid.uuid4(), IntakeAssessmentBooked(
        assessment_at=datetime.now(UTC), clinician_id="cl-1", funding_route="self_funded"))
    await eventually(lambda: len(staff_channels.smtp.messages) == 2)
    assert sorted(m.to for m in staff_channels.smtp.messages) == [
        "clinician.one@clinic.example", "contact.centre@clinic.example"]
    assert [i["title"] for i in await inbox(notifications, "cc-1", "contact_centre")] == ["New enquiry to call back"]
    assert [i["title"] for i in await inbox(notifications, "cl-1", "clinician")] == ["Intake assessment booked"]


async def test_the_register_tells_the_accountable_people_of_a_discrepancy_and_the_pharmacy_of_low_stock(
        notifications, staff_channels, kafka_settings):
    page = uuid.uuid4()
    await publish_event(kafka_settings, "register.discrepancy.found", page, RegisterDiscrepancyFound(
        discrepancy_id=uuid.uuid4(), product="ketamine-10mg-ml-20ml", kind="stock_count_differs", difference_mg=-200,
        found_at=datetime.now(UTC), rule_set_version="register-2026.1"))
    await publish_event(kafka_settings, "register.stock.low", page, RegisterStockLow(
        product="ketamine-10mg-ml-20ml", balance_units=9.5, reorder_level_units=10, rule_set_version="register-2026.1"))
    await eventually(lambda: len(staff_channels.smtp.messages) == 3 and len(staff_channels.chat.accepted) == 2)
    by_address = {m.to: m for m in staff_channels.smtp.messages}
    assert sorted(by_address) == ["cd.accountable.officer@clinic.example", "clinical.lead@clinic.example",
                                  "pharmacy@clinic.example"]
    discrepancy = by_address["clinical.lead@clinic.example"]
    assert discrepancy.subject == "Controlled drugs discrepancy"
    assert "stock count differs (-200.0 mg)" in discrepancy.body and "/register/discrepancies" in discrepancy.body
    assert "below reorder level" in by_address["pharmacy@clinic.example"].subject
    assert [i["title"] for i in await inbox(notifications, "ao-1", "accountable_officer")] == [
        "Controlled drugs discrepancy"]


async def test_a_redelivered_event_notifies_nobody_twice(notifications, staff_channels, kafka_settings, pool):
    event = new_envelope(type="enquiry.received", source="clinicflow/intake", subject=uuid.uuid4(), data=received(),
                         time=datetime.now(UTC))
    await write_topic(kafka_settings, "enquiry.received.v1", [event.to_bytes()] * 3, key=str(event.subject).encode())
    await eventually(lambda: staff_channels.smtp.messages)
    await eventually(lambda: pool.fetchval("SELECT count(*) = 0 FROM deliveries WHERE status = 'pending'"))
    await asyncio.sleep(1)
    assert len(staff_channels.smtp.messages) == 1
    assert await pool.fetchval("SELECT count(*) FROM deliveries") == 2  # inbox and email, once each


async def test_email_due_together_goes_over_one_smtp_connection_and_each_once(notifications, staff_channels,
                                                                              kafka_settings, pool):
    events = [new_envelope(type="enquiry.received", source="clinicflow/intake", subject=uuid.uuid4(),
                           data=received(), time=datetime.now(UTC)) for _ in range(10)]
    await write_topic(kafka_settings, "enquiry.received.v1", [e.to_bytes() for e in events], key=b"one-partition")
    await eventually(lambda: len(staff_channels.smtp.messages) == 10)
    assert len(staff_channels.smtp.unique()) == 10
    assert len(staff_channels.smtp.connections) <= 3  # one per dispatch pass, not one per message
    sent = await events_on(kafka_settings, "notification.sent", at_least=20)
    assert sorted(e.data["channel"] for e in sent).count("email") == 10


async def test_a_new_delivery_wakes_the_dispatcher_without_waiting_for_its_poll(notifications_settings,
                                                                                staff_channels, kafka_settings, clock):
    """Commit wakes the dispatcher (LISTEN/NOTIFY); the poll is only the fallback, here far longer than the wait."""
    settings = notifications_settings.model_copy(update={"dispatcher_poll_seconds": 60.0})
    async with notifications_instance(settings, clock):
        await asyncio.sleep(1)  # the dispatchers' first, idle, passes are over: they now wait for a wake-up or 60 s
        await publish_event(kafka_settings, "screening.risk.flagged", uuid.uuid4(), risk_flag())
        await publish_event(kafka_settings, "enquiry.received", uuid.uuid4(), received())
        await eventually(lambda: len(staff_channels.smtp.messages) == 2 and staff_channels.chat.accepted,
                         timeout=20)


async def test_a_channel_down_for_a_while_gets_the_message_after_retries(notifications, staff_channels,
                                                                         kafka_settings):
    staff_channels.chat.fail_next = 2
    await publish_event(kafka_settings, "screening.risk.flagged", uuid.uuid4(), risk_flag())
    await eventually(lambda: staff_channels.chat.accepted)
    assert staff_channels.chat.attempts == 3
    sent = await events_on(kafka_settings, "notification.sent", at_least=4)
    assert [e.data["attempt_count"] for e in sent if e.data["channel"] == "chat"] == [3]


async def test_a_channel_down_for_good_ends_in_notification_failed(notifications, staff_channels, kafka_settings,
                                                                   pool):
    staff_channels.sms.fail_always = True
    await publish_event(kafka_settings, "screening.risk.flagged", uuid.uuid4(), risk_flag())
    [failed] = await events_on(kafka_settings, "notification.failed")
    assert (failed.data["channel"], failed.data["attempt_count"], failed.data["reason"]) == ("sms", 5, "http_503")
    assert staff_channels.sms.attempts == 5
    assert await pool.fetchval("SELECT status FROM deliveries WHERE channel = 'sms'") == "failed"


async def test_a_crash_between_sending_and_recording_shows_the_receiver_no_duplicate(
    notifications_settings, staff_channels, kafka_settings, clock, pool, infrastructure, namespace
):
    async with notifications_instance(notifications_settings, clock):
        pass  # migrates and creates the topics
    await publish_event(kafka_settings, "enquiry.received", uuid.uuid4(), received())
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.integration.crashing_notifier", infrastructure.bootstrap_servers,
         kafka_settings.topic_prefix, infrastructure.dsn, namespace, str(staff_channels.smtp.port)],
        timeout=120, cwd=REPO,
    )
    assert crashed.returncode == 9
    assert len(staff_channels.smtp.messages) == 1  # it was sent, but the crash lost the record of it
    assert await pool.fetchval("SELECT status FROM deliveries WHERE channel = 'email'") == "pending"

    clock.advance(seconds=notifications_settings.send_lease_seconds)  # the dead worker's lease on it runs out
    async with notifications_instance(notifications_settings, clock):
        await eventually(lambda: pool.fetchval("SELECT status = 'sent' FROM deliveries WHERE channel = 'email'"))
    assert len(staff_channels.smtp.messages) == 2  # sent again after the restart...
    assert len(staff_channels.smtp.unique()) == 1  # ...with the same Message-ID: one message in the mailbox


async def test_an_unacknowledged_alert_escalates_on_time_across_a_restart_and_stops_on_ack(
    notifications_settings, staff_channels, kafka_settings, clock
):
    flag = risk_flag()
    async with notifications_instance(notifications_settings, clock) as first:
        await publish_event(kafka_settings, "session.vitals.alerted", uuid.uuid4(), VitalsAlerted(
            alert_id=flag.alert_id, course_id=uuid.uuid4(), session_id=uuid.uuid4(), breached=["spo2_below_92"],
            severity="urgent", rule_set_version="sessions-rules-2026.1"))
        await eventually(lambda: inbox(first, "dr-1", "doctor"))
        clock.advance(minutes=4)
        await asyncio.sleep(1)
        assert await inbox(first, "dr-2", "doctor") == []
    clock.advance(minutes=2)  # five minutes passed while the service was down
    async with notifications_instance(notifications_settings, clock) as second:
        [escalated] = await eventually(lambda: inbox(second, "dr-2", "doctor"))
        assert escalated["title"] == "ESCALATED: URGENT: vital signs alert"
        clock.advance(minutes=5)
        [lead_item] = await eventually(lambda: inbox(second, "lead-1", "clinical_lead"))
        ack = await second.http.post(f"/inbox/{lead_item['item_id']}/ack", headers=bearer("clinical_lead",
                                                                                           staff_id="lead-1"))
        assert ack.status_code == 204
        [acknowledged] = await events_on(kafka_settings, "alert.acknowledged")
        assert acknowledged.data == {"alert_id": str(flag.alert_id), "acknowledged_by": "lead-1"}
        alerts = (await second.http.get("/alerts?status=acknowledged", headers=bearer("doctor"))).json()
        assert [(a["alert_id"], a["level"]) for a in alerts] == [(str(flag.alert_id), 2)]
        assert (await second.http.get("/alerts?status=open", headers=bearer("doctor"))).json() == []
        clock.advance(minutes=30)
        await asyncio.sleep(1)
    emails = sorted(m.to for m in staff_channels.smtp.unique())
    assert emails == ["clinical.lead@clinic.example", "doctor.one@clinic.example", "doctor.two@clinic.example"]


async def test_someone_elses_inbox_item_cannot_be_acknowledged(notifications, kafka_settings):
    await publish_event(kafka_settings, "screening.risk.flagged", uuid.uuid4(), risk_flag())
    [item] = await eventually(lambda: inbox(notifications, "dr-1", "doctor"))
    other = await notifications.http.post(f"/inbox/{item['item_id']}/ack", headers=bearer("doctor", staff_id="dr-2"))
    assert other.status_code == 404
    assert (await notifications.http.post(f"/inbox/{item['item_id']}/ack")).status_code == 401


async def test_no_identifier_reaches_any_message_body_header_or_log(notifications, staff_channels, kafka_settings,
                                                                    capfd):
    sentinel = "Zqxsentinelname"
    envelope = new_envelope(type="screening.risk.flagged", source="clinicflow/screening", subject=uuid.uuid4(),
                            data=risk_flag(),
                            time=datetime.now(UTC))
    smuggled = envelope.model_copy(update={"data": {**envelope.data, "first_name": sentinel,
                                                    "email": "zqx@example.org"}})
    await write_topic(kafka_settings, "screening.risk.flagged.v1", [smuggled.to_bytes()])
    await eventually(lambda: staff_channels.smtp.messages and staff_channels.chat.accepted
                     and staff_channels.sms.accepted)
    seen = b"".join(m.raw for m in staff_channels.smtp.messages)
    webhooks = staff_channels.chat.accepted + staff_channels.sms.accepted
    seen += b"".join(a["raw"] + str(a["headers"]).encode() for a in webhooks)
    seen += str(await inbox(notifications, "dr-1", "doctor")).encode()
    assert sentinel.encode() not in seen and b"zqx@example.org" not in seen
    assert sentinel not in "".join(capfd.readouterr())
