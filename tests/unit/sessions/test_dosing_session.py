"""A dosing session's steps in clinical order, who did each, the team in the room, overrides one reason at a time, end
states and adverse events (docs/clinical-rules.md rules=RULES)4)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from clinicflow.sessions.acts import Act
from clinicflow.sessions.dosing import Dose
from clinicflow.sessions.dosing_session import (
    DischargeChecklist,
    DischargeRequest,
    DosingSession,
    SessionStatus,
    Supply,
    Team,
    TherapyNote,
    VitalsReading,
)
from clinicflow.sessions.integration import integration_after
from clinicflow.sessions.monitoring import PreDoseCheck, Vitals
from clinicflow.sessions.rules import load_rules
from clinicflow.shared.errors import IllegalMove, InvalidField

RULES = load_rules()
NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
CHECKED_AT = NOW - timedelta(hours=3)
CHECK = PreDoseCheck(Vitals(120, 80, 70, 98, 14), 70.0, True, False, False, True, True, True)
DOSE = Dose("iv", 35.0, 0.5, 70.0, 40, True, None)
CHECKLIST = DischargeChecklist(*[True] * 7)
TEAM = Team("dr-1", "rn-1", "th-1")
SUPPLY = Supply("ketamine-10mg-ml-20ml", "KT2611A", 3.5)
SETTLED = Vitals(128, 82, 74, 98, 14, 5, (0, 0, 0, 0, 0, 0))


def act(by: str, at: datetime, entered: datetime = NOW) -> Act:
    return Act(by, at, entered)


def scheduled() -> DosingSession:
    return DosingSession(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), SessionStatus.SCHEDULED, NOW - timedelta(hours=4))


def ready() -> DosingSession:
    return scheduled().check_before_dosing(CHECK, [], act=act("rn-1", CHECKED_AT), rules=RULES)


def dosed(given_at: datetime = CHECKED_AT + timedelta(minutes=20)) -> DosingSession:
    ordered = ready().name_team(TEAM).order_dose(DOSE, act=act("dr-1", NOW, NOW))
    return ordered.give(act=act("rn-1", given_at), supply=SUPPLY, rules=RULES)


def witnessed(**changes) -> DosingSession:  # noqa: ANN003
    return dosed(**changes).witness(act=act("dr-1", NOW))


def readings(session: DosingSession, *minutes_and_vitals: tuple[int, Vitals]) -> list[VitalsReading]:
    return [VitalsReading(v, session.dosed_at + timedelta(minutes=m)) for m, v in minutes_and_vitals]


def discharge_at(session: DosingSession, minutes: int, reads: list[VitalsReading], **request):  # noqa: ANN003, ANN201
    when = session.dosed_at + timedelta(minutes=minutes)
    return session.discharge(DischargeRequest(act("cl-1", when), CHECKLIST, **request), readings=reads,
                             session_number=1, rules=RULES)


def test_a_check_records_who_checked_when_it_happened_and_when_it_was_entered():
    session = ready()
    assert session.status is SessionStatus.READY
    assert (session.checked.by, session.checked.at, session.checked.entered_at) == ("rn-1", CHECKED_AT, NOW)
    deferred = scheduled().check_before_dosing(CHECK, ["not_fasted"], act=act("rn-1", CHECKED_AT), rules=RULES)
    assert (deferred.status, deferred.deferral_reasons) == (SessionStatus.DEFERRED, ("not_fasted",))


@pytest.mark.parametrize(("at", "kind"), [
    (NOW + timedelta(seconds=1), "future_time"),
    (NOW - timedelta(hours=12, seconds=1), "too_old"),
])
def test_a_step_is_never_charted_in_the_future_nor_past_the_charting_window(at, kind):
    session = replace(scheduled(), scheduled_at=at - timedelta(hours=1))
    with pytest.raises(InvalidField) as error:
        session.check_before_dosing(CHECK, [], act=act("rn-1", at), rules=RULES)
    assert (error.value.field, error.value.kind) == ("measured_at", kind)
    assert session.check_before_dosing(CHECK, [], act=act("rn-1", NOW - timedelta(hours=12)), rules=RULES).checked


def test_a_check_cannot_precede_the_scheduled_day():
    session = replace(scheduled(), scheduled_at=NOW + timedelta(days=1))
    with pytest.raises(InvalidField, match="scheduled day"):
        session.check_before_dosing(CHECK, [], act=act("rn-1", NOW), rules=RULES)


def test_a_deferral_is_overridden_one_reason_at_a_time_and_only_where_a_review_is_not_what_clears_it():
    reasons = ["pre_dose_bp_above_guide", "not_fasted", "safety_hold"]
    deferred = scheduled().check_before_dosing(CHECK, reasons, act=act("rn-1", CHECKED_AT), rules=RULES)
    once, override = deferred.override_deferral("not_fasted", by="dr-1", reason="light breakfast 3 h ago", now=NOW)
    assert (once.status, override.rule, override.by) == (SessionStatus.DEFERRED, "not_fasted", "dr-1")
    with pytest.raises(IllegalMove, match="already overridden"):
        once.override_deferral("not_fasted", by="dr-1", reason="again", now=NOW)
    with pytest.raises(IllegalMove, match="released by a doctor's review"):
        once.override_deferral("safety_hold", by="dr-1", reason="I am sure", now=NOW)
    with pytest.raises(InvalidField):
        once.override_deferral("no_escort_confirmed", by="dr-1", reason="not a reason here", now=NOW)
    bp_only = scheduled().check_before_dosing(CHECK, reasons[:2], act=act("rn-1", CHECKED_AT), rules=RULES)
    bp_only, _ = bp_only.override_deferral("not_fasted", by="dr-1", reason="light breakfast 3 h ago", now=NOW)
    go, _ = bp_only.override_deferral("pre_dose_bp_above_guide", by="dr-1", reason="white-coat; home BP fine", now=NOW)
    assert go.status is SessionStatus.READY and len(go.overrides) == 2


def test_a_deferred_session_may_be_checked_again():
    deferred = scheduled().check_before_dosing(CHECK, ["pre_dose_bp_above_guide"], act=act("rn-1", CHECKED_AT),
                                               rules=RULES)
    again = deferred.check_before_dosing(CHECK, [], act=act("rn-1", CHECKED_AT + timedelta(minutes=20)), rules=RULES)
    assert again.status is SessionStatus.READY and again.deferral_reasons == ()


def test_a_dose_needs_an_order_and_follows_its_check_within_60_minutes():
    with pytest.raises(IllegalMove, match="no dose has been ordered"):
        ready().give(act=act("rn-1", CHECKED_AT + timedelta(minutes=5)), supply=SUPPLY, rules=RULES)
    ordered = ready().name_team(TEAM).order_dose(DOSE, act=act("dr-1", NOW))
    assert ordered.ordered.by == "dr-1"
    assert ordered.give(act=act("rn-1", CHECKED_AT), supply=SUPPLY, rules=RULES).dosed_at == CHECKED_AT
    given = ordered.give(act=act("rn-1", CHECKED_AT + timedelta(minutes=60)), supply=SUPPLY, rules=RULES)
    assert (given.given.by, given.supply) == ("rn-1", SUPPLY)
    with pytest.raises(IllegalMove, match="60 minutes after its pre-dose check"):
        ordered.give(act=act("rn-1", CHECKED_AT + timedelta(minutes=60, seconds=1)), supply=SUPPLY, rules=RULES)
    with pytest.raises(InvalidField, match="precede its pre-dose check"):
        ordered.give(act=act("rn-1", CHECKED_AT - timedelta(seconds=1)), supply=SUPPLY, rules=RULES)


def test_the_witness_is_a_second_member_of_staff_once():
    with pytest.raises(IllegalMove, match="second member of staff"):
        dosed().witness(act=act("rn-1", NOW))
    witnessed_once = dosed().witness(act=act("dr-2", NOW))
    assert witnessed_once.witnessed.by == "dr-2"
    with pytest.raises(IllegalMove, match="already witnessed"):
        witnessed_once.witness(act=act("cl-1", NOW))


def test_readings_follow_the_check_and_once_dosed_follow_the_dose():
    ready().check_reading_time(CHECKED_AT + timedelta(minutes=1), now=NOW, rules=RULES)
    with pytest.raises(InvalidField, match="precede the pre-dose check"):
        ready().check_reading_time(CHECKED_AT - timedelta(minutes=1), now=NOW, rules=RULES)
    session = dosed()
    with pytest.raises(InvalidField, match="precede the dose"):
        session.check_reading_time(session.dosed_at - timedelta(minutes=1), now=NOW, rules=RULES)


@pytest.mark.parametrize(("minutes", "ok"), [(119, False), (120, True)])
def test_discharge_comes_at_least_120_minutes_after_the_charted_dose(minutes, ok):
    session = witnessed()
    reads = readings(session, (40, SETTLED), (minutes - 5, SETTLED))
    if ok:
        done, _ = discharge_at(session, minutes, reads)
        assert (done.status, done.discharged.by) == (SessionStatus.DISCHARGED, "cl-1")
    else:
        with pytest.raises(IllegalMove, match="119 of 120 minutes"):
            discharge_at(session, minutes, reads)


def test_discharge_needs_the_witness_the_peak_reading_and_a_recent_reading():
    with pytest.raises(IllegalMove, match="witnessed"):
        discharge_at(dosed(), 125, readings(dosed(), (40, SETTLED), (120, SETTLED)))
    session = witnessed()
    with pytest.raises(IllegalMove, match="30–60 minutes"):
        discharge_at(session, 125, readings(session, (25, SETTLED), (120, SETTLED)))
    with pytest.raises(IllegalMove, match="within the 30 minutes"):
        discharge_at(session, 151, readings(session, (40, SETTLED), (120, SETTLED)))
    assert discharge_at(session, 150, readings(session, (40, SETTLED), (120, SETTLED)))[0].discharged


def test_discharge_is_refused_while_hypertensive_tachycardic_sedated_or_dissociated():
    session = witnessed()
    for last, expected in [(replace(SETTLED, systolic=161), "discharge bp above range"),
                           (replace(SETTLED, heart_rate=111), "discharge heart rate outside range"),
                           (replace(SETTLED, moaas=4), "sedation not resolved"),
                           (replace(SETTLED, cadss=(1, 1, 1, 0, 0, 0)), "dissociation not resolved")]:
        with pytest.raises(IllegalMove, match=expected):
            discharge_at(session, 125, readings(session, (40, SETTLED), (120, last)))


def test_a_doctor_may_discharge_outside_a_range_the_clients_baseline_explains_but_never_while_sedated():
    session = witnessed()
    reads = readings(session, (40, SETTLED), (120, replace(SETTLED, systolic=165)))
    reason = (("discharge_bp_above_range", "baseline 165/95 on three clinic visits"),)
    with pytest.raises(IllegalMove, match="only a doctor"):
        discharge_at(session, 125, reads, overrides=reason)
    done, overrides = discharge_at(session, 125, reads, overrides=reason, by_doctor=True)
    assert done.status is SessionStatus.DISCHARGED
    assert [(o.step, o.rule) for o in overrides] == [("discharge", "discharge_bp_above_range")]
    sedated = readings(session, (40, SETTLED), (120, replace(SETTLED, moaas=4)))
    with pytest.raises(IllegalMove, match="sedation"):
        discharge_at(session, 125, sedated, overrides=(("discharge_sedation_not_resolved", "x" * 12),),
                     by_doctor=True)
    with pytest.raises(InvalidField, match="not a criterion"):
        discharge_at(session, 125, readings(session, (40, SETTLED), (120, SETTLED)), overrides=reason, by_doctor=True)


def test_discharge_needs_every_checklist_item():
    session = witnessed()
    checklist = replace(CHECKLIST, escort_present=False)
    with pytest.raises(InvalidField) as error:
        session.discharge(DischargeRequest(act("cl-1", session.dosed_at + timedelta(minutes=125)), checklist),
                          readings=readings(session, (40, SETTLED), (120, SETTLED)), session_number=1, rules=RULES)
    assert error.value.field == "checklist.escort_present"


def test_a_session_is_cancelled_before_the_dose_abandoned_after_it_or_transferred_from_a_passed_check_on():
    cancelled = ready().cancel("client_unwell", act=act("rn-1", NOW))
    assert (cancelled.status, cancelled.ended_reason) == (SessionStatus.CANCELLED, "client_unwell")
    with pytest.raises(IllegalMove):
        dosed().cancel("too_late", act=act("rn-1", NOW))
    with pytest.raises(IllegalMove):
        ready().end_early(SessionStatus.ABANDONED, "distress", act=act("rn-1", NOW), adverse_event_codes=(),
                          rules=RULES)
    abandoned = dosed().end_early(SessionStatus.ABANDONED, "distress", act=act("rn-1", NOW - timedelta(hours=2)),
                                  adverse_event_codes=("emergence_reaction",), rules=RULES)
    assert (abandoned.status, abandoned.unreviewed_adverse_event) == (SessionStatus.ABANDONED, True)
    transferred = ready().end_early(SessionStatus.TRANSFERRED, "chest_pain", act=act("dr-1", NOW),
                                    adverse_event_codes=(), rules=RULES)
    assert transferred.status is SessionStatus.TRANSFERRED
    with pytest.raises(InvalidField, match="before it began"):
        dosed().end_early(SessionStatus.ABANDONED, "x_y", act=act("rn-1", CHECKED_AT), adverse_event_codes=(),
                          rules=RULES)


def test_an_adverse_event_waits_for_a_doctors_review_and_a_new_one_needs_another():
    session = dosed().add_adverse_events(("nausea_vomiting",))
    assert session.unreviewed_adverse_event
    reviewed = session.review_adverse_events(act=act("dr-1", NOW))
    assert not reviewed.unreviewed_adverse_event
    assert reviewed.add_adverse_events(("nausea_vomiting",)) is reviewed  # nothing new
    assert reviewed.add_adverse_events(("headache",)).unreviewed_adverse_event
    with pytest.raises(IllegalMove):
        reviewed.review_adverse_events(act=act("dr-1", NOW))
    with pytest.raises(IllegalMove):
        ready().add_adverse_events(("headache",))


def test_no_dose_without_the_team_in_the_room_named():
    ordered = ready().order_dose(DOSE, act=act("dr-1", NOW, NOW))
    with pytest.raises(IllegalMove, match="supervising doctor"):
        ordered.give(act=act("rn-1", CHECKED_AT + timedelta(minutes=20)), supply=SUPPLY, rules=RULES)
    at = CHECKED_AT + timedelta(minutes=20)
    given = ordered.name_team(TEAM).give(act=act("rn-1", at), supply=SUPPLY, rules=RULES)
    assert given.team == TEAM


def test_the_nurse_monitoring_is_a_second_person_and_a_handover_renames_the_team():
    with pytest.raises(InvalidField) as error:
        ready().name_team(Team("dr-1", "dr-1", "th-1"))
    assert error.value.field == "monitoring_nurse"
    handed_over = dosed().name_team(Team("dr-1", "rn-2", "th-1"))
    assert handed_over.team.monitoring_nurse == "rn-2"
    discharged, _ = discharge_at(witnessed(), 125, readings(witnessed(), (40, SETTLED), (120, SETTLED)))
    with pytest.raises(IllegalMove):
        discharged.name_team(TEAM)


def test_the_therapists_note_is_kept_from_the_dose_on():
    note = TherapyNote(("grief_and_loss",), ("persisting_distress",))
    assert dosed().record_therapy_note(note).therapy_note == note
    with pytest.raises(IllegalMove):
        ready().record_therapy_note(note)


def test_integration_falls_due_within_72_hours_of_discharge():
    session = witnessed()
    done, _ = discharge_at(session, 125, readings(session, (40, SETTLED), (120, SETTLED)))
    integration = integration_after(done, RULES)
    assert (integration.opens_at, integration.due_by) == (done.discharged_at, done.discharged_at + timedelta(hours=72))
