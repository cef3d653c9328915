"""Routing rules, templates, retries and escalation, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.notifications.acklinks import AckLinks, InvalidAckLink
from clinicflow.notifications.channels import sign, verify
from clinicflow.notifications.configfiles import load_directory, load_routing
from clinicflow.notifications.domain import RetryPolicy, Shift, escalation_chain, next_escalation
from clinicflow.notifications.routing import plan
from clinicflow.notifications.templates import TEMPLATES, render

ROUTING = load_routing()
DIRECTORY = load_directory()
ALL = frozenset({"inbox", "email", "chat", "sms"})
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ON_CALL = {"doctor": escalation_chain(DIRECTORY.on_call["doctor"], DIRECTORY.clinical_lead)}


def planned_for(event_type: str, data: dict, enabled=ALL):  # noqa: ANN001, ANN201
    return plan(event_type, data, routing=ROUTING, directory=DIRECTORY, enabled=enabled, on_call=ON_CALL)


def who(event_type: str, data: dict, enabled=ALL) -> set[tuple[str, str]]:  # noqa: ANN001
    return {(p.recipient_id, p.channel) for p in planned_for(event_type, data, enabled)}


def test_an_enquiry_goes_to_the_contact_centre():
    assert who("enquiry.received", {}) == {("cc-1", "inbox"), ("cc-1", "email")}


def test_a_callback_notifies_the_contact_centre_only_when_another_attempt_is_due_and_at_that_time():
    assert who("enquiry.callback.logged", {"next_attempt_due": None}) == set()
    due = "2026-11-26T13:00:00+00:00"
    [reminder] = planned_for("enquiry.callback.logged", {"next_attempt_due": due})
    assert (reminder.recipient_id, reminder.channel, reminder.send_at) == ("cc-1", "inbox", datetime.fromisoformat(due))


def test_a_booked_assessment_goes_to_the_booked_clinician():
    assert who("intake.assessment.booked", {"clinician_id": "cl-1"}) == {("cl-1", "inbox"), ("cl-1", "email")}


def test_a_completed_screening_goes_to_the_team_and_the_signing_doctor():
    recipients = {r for r, _ in who("screening.completed", {"signed_by": "dr-2"})}
    assert recipients == {"dr-1", "dr-2", "cl-1", "rn-1"}


@pytest.mark.parametrize("event_type", ["screening.risk.flagged", "session.vitals.alerted"])
def test_safety_alerts_go_to_the_on_call_doctor_urgently_on_every_channel_and_escalate(event_type):
    planned = planned_for(event_type, {"alert_id": str(uuid.uuid4())})
    assert {(p.recipient_id, p.channel) for p in planned} == {("dr-1", c) for c in ALL}
    assert {(p.priority, p.escalates) for p in planned} == {("urgent", True)}


def test_only_enabled_channels_are_used():
    assert who("screening.risk.flagged", {"alert_id": str(uuid.uuid4())}, frozenset({"inbox", "chat"})) == {
        ("dr-1", "inbox"), ("dr-1", "chat")}


@pytest.mark.parametrize(("event_type", "recipient"), [
    ("session.deferred", "doctor"), ("integration.due", "therapist"), ("integration.overdue", "clinical_lead")])
def test_sessions_events_go_to_their_role(event_type, recipient):
    planned = planned_for(event_type, {})
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


def test_escalation_walks_the_rota_to_the_clinical_lead_then_round_again_until_acknowledged():
    chain = escalation_chain(("dr-1", "dr-2"), "lead-1")
    assert chain == ("dr-1", "dr-2", "lead-1")
    after = timedelta(minutes=5)
    steps = [next_escalation(chain, level, now=NOW, after=after) for level in range(5)]
    assert [(s.level, s.recipient) for s in steps] == [
        (1, "dr-2"), (2, "lead-1"), (3, "dr-1"), (4, "dr-2"), (5, "lead-1")]
    assert {s.escalate_at for s in steps} == {NOW + after}


def test_an_empty_rota_sends_urgent_alerts_straight_to_the_clinical_lead_who_is_never_listed_twice():
    assert escalation_chain((), "lead-1") == ("lead-1",)
    assert escalation_chain(("lead-1", "dr-1"), "lead-1") == ("lead-1", "dr-1")
    assert next_escalation(("lead-1",), 0, now=NOW, after=timedelta(minutes=5)).recipient == "lead-1"


def test_a_shift_covers_its_start_but_not_its_end():
    shift = Shift(id=uuid.uuid4(), role="doctor", staff_id="dr-2", position=1, starts_at=NOW,
                  ends_at=NOW + timedelta(hours=12), created_by="admin-1")
    assert not shift.covers(NOW - timedelta(seconds=1))
    assert shift.covers(NOW) and shift.covers(NOW + timedelta(hours=12) - timedelta(seconds=1))
    assert not shift.covers(NOW + timedelta(hours=12))


LINKS = AckLinks(secret=b"k" * 32, base_url="https://alerts.clinic.example/", valid_for=timedelta(minutes=30))


def test_an_acknowledgement_link_names_its_delivery_until_it_expires():
    delivery_id = uuid.uuid4()
    link = LINKS.link(delivery_id, now=NOW)
    assert link.startswith("https://alerts.clinic.example/ack/") and str(delivery_id) not in link
    token = link.rsplit("/", 1)[1]
    assert LINKS.read(token, now=NOW + timedelta(minutes=29, seconds=59)) == delivery_id
    with pytest.raises(InvalidAckLink, match="expired"):
        LINKS.read(token, now=NOW + timedelta(minutes=30))


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # signature changed
    lambda t: t.replace(t.split(".")[1], str(int(t.split(".")[1]) + 3600)),  # expiry pushed back
    lambda t: uuid.uuid4().hex + t[32:],  # another delivery
    lambda t: t.split(".", 1)[0],  # truncated
])
def test_a_forged_or_altered_acknowledgement_link_is_refused(tamper):
    token = LINKS.link(uuid.uuid4(), now=NOW).rsplit("/", 1)[1]
    with pytest.raises(InvalidAckLink):
        LINKS.read(tamper(token), now=NOW)
    other_key = AckLinks(secret=b"x" * 32, base_url="https://a", valid_for=timedelta(minutes=30))
    with pytest.raises(InvalidAckLink, match="signature"):
        other_key.read(token, now=NOW)


def test_webhook_signatures_verify_and_reject_tampering_and_staleness():
    import time

    now = str(int(time.time()))
    signature = sign(b"secret", now, b'{"text": "hi"}')
    assert verify(b"secret", now, b'{"text": "hi"}', signature)
    assert not verify(b"secret", now, b'{"text": "hi!"}', signature)
    assert not verify(b"other", now, b'{"text": "hi"}', signature)
    old = str(int(time.time()) - 3600)
    assert not verify(b"secret", old, b'{"text": "hi"}', sign(b"secret", old, b'{"text": "hi"}'))
