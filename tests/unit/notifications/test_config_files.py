"""The routing file and staff directory are refused at start when they could route a safety alert to nobody, or name
a role, person or event field that does not exist; and the routes the clinic relies on are there."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from clinicflow.notifications.configfiles import check_together, load_directory, load_routing
from clinicflow.notifications.domain import escalation_chain
from clinicflow.notifications.routing import plan
from clinicflow.shared.rulefiles import RuleFileError

CONFIG = Path(__file__).resolve().parents[3] / "services/notifications/clinicflow/notifications/config"
ROUTING = json.loads((CONFIG / "routing.json").read_text())
DIRECTORY = json.loads((CONFIG / "directory.json").read_text())


def write(tmp_path: Path, name: str, original: dict, change: Callable[[dict], None]) -> Path:
    raw = json.loads(json.dumps(original))
    change(raw)
    path = tmp_path / name
    path.write_text(json.dumps(raw))
    return path


def routing_refused(tmp_path: Path, change: Callable[[dict], None]) -> str:
    with pytest.raises(RuleFileError) as error:
        load_routing(write(tmp_path, "routing.json", ROUTING, change))
    assert "routing.json" in str(error.value)
    return str(error.value)


def directory_refused(tmp_path: Path, change: Callable[[dict], None]) -> str:
    with pytest.raises(RuleFileError) as error:
        load_directory(write(tmp_path, "directory.json", DIRECTORY, change))
    assert "directory.json" in str(error.value)
    return str(error.value)


def rule_for(raw: dict, event: str) -> dict:
    return next(r for r in raw["rules"] if r["event"] == event)


def test_the_packaged_files_are_safe_together():
    check_together(load_routing(), load_directory(), routing_file=None)


@pytest.mark.parametrize("event", ["screening.risk.flagged", "session.vitals.alerted"])
@pytest.mark.parametrize("change", [
    lambda r: r.update(priority="high"),
    lambda r: r.update(escalate=False),
    lambda r: r.update(recipients=[{"role": "doctor"}]),
    lambda r: r.update(channels=["inbox", "email"]),
])
def test_a_safety_alert_must_stay_urgent_escalating_on_call_and_on_a_phone(tmp_path, event, change):
    message = routing_refused(tmp_path, lambda raw: change(rule_for(raw, event)))
    assert f"{event} must have a rule that is urgent, escalates" in message


def test_a_safety_alert_with_no_rule_at_all_is_refused(tmp_path):
    message = routing_refused(tmp_path, lambda raw: raw.update(
        rules=[r for r in raw["rules"] if r["event"] != "session.vitals.alerted"]))
    assert "session.vitals.alerted" in message and "no rule at all" in message


@pytest.mark.parametrize(("change", "expected"), [
    (lambda raw: rule_for(raw, "intake.assessment.booked")["recipients"][0].update(staff_in="clinician"),
     "intake.assessment.booked has no field 'clinician'"),
    (lambda raw: rule_for(raw, "enquiry.received")["recipients"][0].update(role="contact-centre"),
     "'contact-centre' is not a role"),
    (lambda raw: rule_for(raw, "enquiry.callback.logged").update(send_at="next_attempt"),
     "has no field 'next_attempt'"),
    (lambda raw: raw["rules"].append({"event": "enquiry.recieved", "recipients": [{"team": True}],
                                      "channels": ["inbox"], "priority": "routine"}), "'enquiry.recieved'"),
    (lambda raw: rule_for(raw, "integration.overdue").update(escalate=True), "only urgent safety alerts"),
    (lambda raw: raw["rules"].append({"event": "course.started", "recipients": [{"team": True}],
                                      "channels": ["inbox"], "priority": "routine"}),
     "course.started has no message written for it"),
    (lambda raw: raw.update(escalate_after_minutes=30), "escalate_after_minutes: must be at most 15"),
    (lambda raw: raw.update(team_roles=["doctor", "surgeon"]), "'surgeon' is not a role"),
    (lambda raw: rule_for(raw, "enquiry.received").update(channels=["pager"]), "channels"),
    (lambda raw: rule_for(raw, "enquiry.received")["recipients"].append({"role": "doctor", "team": True}),
     "exactly one of"),
])
def test_a_rule_naming_something_that_does_not_exist_is_refused(tmp_path, change, expected):
    assert expected in routing_refused(tmp_path, change)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d.update(clinical_lead="lead-9"), "clinical_lead: must be a member of staff"),
    (lambda d: d.update(clinical_lead="dr-1"), "clinical_lead: must be a member of staff"),
    (lambda d: d["on_call"].update(doctor=["dr-1", "dr-3"]), "'dr-3' is not a member of staff holding"),
    (lambda d: d["on_call"].update(doctor=["dr-1", "rn-1"]), "'rn-1' is not a member of staff holding"),
    (lambda d: d["staff"].append(dict(d["staff"][0])), "staff ids must be unique"),
    (lambda d: d["staff"][0].update(roles=["callcentre"]), "'callcentre' is not a role"),
    (lambda d: next(s for s in d["staff"] if s["id"] == "lead-1").update(email=None, phone=None),
     "needs an email address or a phone"),
])
def test_a_directory_that_could_lose_an_alert_is_refused(tmp_path, change, expected):
    assert expected in directory_refused(tmp_path, change)


def test_nobody_on_call_for_safety_alerts_or_nobody_in_a_routed_role_is_refused(tmp_path):
    no_on_call = load_directory(write(tmp_path, "d1.json", DIRECTORY, lambda d: d.update(on_call={})))
    with pytest.raises(RuleFileError, match="nobody on call for 'doctor'"):
        check_together(load_routing(), no_on_call, routing_file="routing.json")
    no_therapist = load_directory(write(tmp_path, "d2.json", DIRECTORY, lambda d: d.update(
        staff=[s for s in d["staff"] if s["id"] != "th-1"])))
    with pytest.raises(RuleFileError, match="nobody in the directory holds the role 'therapist'"):
        check_together(load_routing(), no_therapist, routing_file="routing.json")


ON_CALL = {"doctor": escalation_chain(("dr-1", "dr-2"), "lead-1")}
ALL = frozenset({"inbox", "email", "chat", "sms"})


def who(event_type: str, data: dict) -> set[tuple[str, str]]:
    planned = plan(event_type, data, routing=load_routing(), directory=load_directory(), enabled=ALL, on_call=ON_CALL)
    return {(p.recipient_id, p.priority) for p in planned}


def test_adverse_events_go_to_the_care_team_and_the_clinical_lead():
    assert who("session.logged", {"adverse_event_codes": []}) == set()
    recipients = who("session.logged", {"adverse_event_codes": ["emergence_reaction"], "session_number": 2})
    assert recipients == {(r, "high") for r in ("dr-1", "dr-2", "cl-1", "rn-1", "lead-1")}


def test_a_session_that_ended_early_is_told_to_the_team_and_the_clinical_lead():
    assert {r for r, _ in who("session.logged", {"adverse_event_codes": [], "ended_early": True})} == {
        "dr-1", "dr-2", "cl-1", "rn-1", "lead-1"}


def test_every_dosing_override_is_told_to_the_clinical_lead():
    assert who("session.overridden", {"rule": "dose_outside_protocol", "step": "dose"}) == {("lead-1", "high")}


def test_a_screening_override_is_told_to_the_clinical_lead():
    assert ("lead-1", "high") not in who("screening.completed", {"overridden": False, "signed_by": "dr-1"})
    assert ("lead-1", "high") in who("screening.completed", {"overridden": True, "signed_by": "dr-1"})


def test_every_routed_event_renders_with_its_fields():
    from clinicflow.notifications.templates import render
    from clinicflow.shared.catalogue import CATALOGUE

    for rule in load_routing().rules:
        fields = dict.fromkeys(CATALOGUE[rule.event].payload.model_fields, "x")
        assert render(rule.event, fields, pathway_id=str(uuid.uuid4()), staff_portal_url="https://s").title
