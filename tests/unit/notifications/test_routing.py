"""Routing rules, templates, retries and escalation, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.notifications.channels import sign, verify
from clinicflow.notifications.domain import RetryPolicy, next_escalation
from clinicflow.notifications.routing import load_directory, load_routing, plan
from clinicflow.notifications.templates import TEMPLATES, render

ROUTING = load_routing()
DIRECTORY = load_directory()
ALL = frozenset({"inbox", "email", "chat", "sms"})
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def who(event_type: str, data: dict, enabled=ALL) -> set[tuple[str, str]]:  # noqa: ANN001
    return {(p.recipient_id, p.channel) for p in plan(event_type, data, routing=ROUTING, directory=DIRECTORY,
                                                       enabled=enabled)}


def test_an_enquiry_goes_to_the_contact_centre():
    assert who("enquiry.received", {}) == {("cc-1", "inbox"), ("cc-1", "email")}


def test_a_callback_notifies_the_contact_centre_only_when_another_attempt_is_due_and_at_that_time():
    assert who("enquiry.callback.logged", {"next_attempt_due": None}) == set()
    due = "2026-11-26T13:00:00+00:00"
    [reminder] = plan("enquiry.callback.logged", {"next_attempt_due": due}, routing=ROUTING, directory=DIRECTORY,
                      enabled=ALL)
    assert (reminder.recipient_id, reminder.channel, reminder.send_at) == ("cc-1", "inbox", datetime.fromisoformat(due))


def test_a_booked_assessment_goes_to_the_booked_clinician():
    assert who("intake.assessment.booked", {"clinician_id": "cl-1"}) == {("cl-1", "inbox"), ("cl-1", "email")}


def test_a_completed_screening_goes_to_the_team_and_the_signing_doctor():
    recipients = {r for r, _ in who("screening.completed", {"signed_by": "dr-2"})}
    assert recipients == {"dr-1", "dr-2", "cl-1", "rn-1"}


@pytest.mark.parametrize("event_type", ["screening.risk.flagged", "session.vitals.alerted"])
def test_safety_alerts_go_to_the_on_call_doctor_urgently_on_every_channel_and_escalate(event_type):
    planned = plan(event_type, {"alert_id": str(uuid.uuid4())}, routing=ROUTING, directory=DIRECTORY, enabled=ALL)
    assert {(p.recipient_id, p.channel) for p in planned} == {("dr-1", c) for c in ALL}
    assert {(p.priority, p.escalates) for p in planned} == {("urgent", True)}


def test_only_enabled_channels_are_used():
    assert who("screening.risk.flagged", {"alert_id": str(uuid.uuid4())}, frozenset({"inbox", "chat"})) == {
        ("dr-1", "inbox"), ("dr-1", "chat")}


@pytest.mark.parametrize(("event_type", "recipient"), [
    ("session.deferred", "doctor"), ("integration.due", "therapist"), ("integration.overdue", "clinical_lead")])
def test_sessions_events_go_to_their_role(event_type, recipient):
    planned = plan(event_type, {}, routing=ROUTING, directory=DIRECTORY, enabled=ALL)
    assert planned and {p.recipient_role for p in planned} == {recipient}


def test_progress_notifies_the_team_only_on_response_or_remission():
    assert who("course.progress.updated", {"response": False, "remission": None}) == set()
    assert {r for r, _ in who("course.progress.updated", {"response": True, "remission": False})} == {
        "dr-1", "dr-2", "cl-1", "rn-1"}
    assert {r for r, _ in who("course.completed", {})} == {"dr-1", "dr-2", "cl-1", "rn-1"}


def test_every_routed_event_has_a_template_with_its_pathway_and_link():
    content = render("session.vitals.alerted", {"breached": ["spo2_below_92"]}, pathway_id="p-1",
                     staff_portal_url="https://staff.example/")
    assert "spo2 below 92" in content.body and "https://staff.example/pathways/p-1" in content.body
    assert {r.event for r in ROUTING.rules} <= set(TEMPLATES)


def test_retries_back_off_exponentially_then_give_up():
    policy = RetryPolicy(max_attempts=3, first=timedelta(seconds=10), cap=timedelta(seconds=15))
    first, second = policy.after_failure(1, NOW), policy.after_failure(2, NOW)
    assert NOW + timedelta(seconds=5) <= first <= NOW + timedelta(seconds=10)
    assert NOW + timedelta(seconds=7.5) <= second <= NOW + timedelta(seconds=15)
    assert policy.after_failure(3, NOW) is None


def test_escalation_walks_the_rota_to_the_clinical_lead_then_stops():
    chain = DIRECTORY.escalation_chain("doctor")
    assert chain == ("dr-1", "dr-2", "lead-1")
    step = next_escalation(chain, 0, now=NOW, after=timedelta(minutes=5))
    assert (step.level, step.recipient, step.escalate_at) == (1, "dr-2", NOW + timedelta(minutes=5))
    step = next_escalation(chain, 1, now=NOW, after=timedelta(minutes=5))
    assert (step.recipient, step.escalate_at) == ("lead-1", None)
    assert next_escalation(chain, 2, now=NOW, after=timedelta(minutes=5)).recipient is None


def test_webhook_signatures_verify_and_reject_tampering_and_staleness():
    import time

    now = str(int(time.time()))
    signature = sign(b"secret", now, b'{"text": "hi"}')
    assert verify(b"secret", now, b'{"text": "hi"}', signature)
    assert not verify(b"secret", now, b'{"text": "hi!"}', signature)
    assert not verify(b"other", now, b'{"text": "hi"}', signature)
    old = str(int(time.time()) - 3600)
    assert not verify(b"secret", old, b'{"text": "hi"}', sign(b"secret", old, b'{"text": "hi"}'))
