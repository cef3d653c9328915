"""Screening's use cases: load → apply the rules → save, with the events they cause, in one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from clinicflow.screening.contraindications import History, Proposal, propose
from clinicflow.screening.domain import Measure, RiskFlag, ScreeningCase, SignOff, required_baseline
from clinicflow.screening.repository import ScreeningRepository
from clinicflow.screening.rules import RuleSet
from clinicflow.screening.scoring import INSTRUMENTS, ITEM9_FLAG, answer_problems, readable_item9, score
from clinicflow.shared import catalogue
from clinicflow.shared.care_team import AccessRequest, CareTeamRepository
from clinicflow.shared.care_team import open_record as open_care_record
from clinicflow.shared.errors import IllegalMove, InvalidField, InvalidFields, NotFound
from clinicflow.shared.outbox import EventWriter

SOURCE = "clinicflow/screening"


@dataclass(frozen=True)
class UnitOfWork:
    """One transaction's view of screening."""

    screening: ScreeningRepository
    care_team: CareTeamRepository
    events: EventWriter
    rules: RuleSet


async def note_enquiry(uow: UnitOfWork, pathway_id: uuid.UUID, event: catalogue.EnquiryReceived) -> None:
    """Keep the coded facts the rules need later (age band, concerns)."""
    await uow.screening.note_facts(pathway_id=pathway_id, age_band=event.age_band, concerns=list(event.concerns))


async def open_case(uow: UnitOfWork, pathway_id: uuid.UUID, *, clinician_id: str) -> bool:
    """A booked intake assessment opens the pathway's screening case, once, and puts the assessing clinician on the
    client's care team."""
    await uow.care_team.add(pathway_id=pathway_id, staff_id=clinician_id, role="clinician",
                            source="assessment_booked", added_by="intake", at=uow.events.now)
    return await uow.screening.open_case(pathway_id=pathway_id, now=uow.events.now)


async def open_record(uow: UnitOfWork, pathway_id: uuid.UUID, *, staff_id: str, request: AccessRequest) -> None:
    """Let ``staff_id`` open the client's screening record (on the care team, or breaking the glass) and log it."""
    await open_care_record(uow.care_team, uow.events, pathway_id=pathway_id, staff_id=staff_id, resource="screening",
                           request=request, told=catalogue.ScreeningRecordBreakGlass)


async def close_case(uow: UnitOfWork, pathway_id: uuid.UUID, *, reason: str) -> None:
    """The enquiry was closed or erased: end the case, if there is one."""
    try:
        case = await uow.screening.get_case(pathway_id=pathway_id, for_update=True)
    except NotFound:
        return
    await uow.screening.save_case(case=case.close(reason))


@dataclass(frozen=True)
class MeasureInput:
    """A completed questionnaire as staff submitted it: the answers as given, and what the form layer already found
    wrong with the rest (unknown instrument, bad context, unknown fields)."""

    instrument: str
    answers: Sequence[object]
    context: str
    staff_id: str
    request_key: str | None = None
    refused: tuple[InvalidField, ...] = ()


async def record_measure(uow: UnitOfWork, pathway_id: uuid.UUID, given: MeasureInput) -> Measure:
    """Score and store a questionnaire → `screening.measure.recorded`.

    Item 9 is read before anything else is checked (docs/clinical-rules.md §2, Suicidality): a readable PHQ-9 item-9
    answer at or above the threshold raises `screening.risk.flagged` first, and that alert stands even when the form
    is refused (InvalidFields naming every bad field, with the alert kept). A retry under the same request key
    returns the earlier measure and raises no second alert.
    """
    if given.request_key is not None:
        earlier = await uow.screening.measure_by_request_key(request_key=given.request_key)
        if earlier is not None:
            return earlier
    case = await uow.screening.get_case(pathway_id=pathway_id, for_update=True)
    case.require_not_closed()
    item9 = readable_item9(given.instrument, given.answers)
    alert = item9 is not None and item9 >= uow.rules.phq9_item9_alert_threshold and not (
        given.request_key and await uow.screening.flag_raised_for_request(request_key=given.request_key))
    problems = [*given.refused]
    if given.instrument in INSTRUMENTS:
        problems += answer_problems(given.instrument, given.answers)
    if problems:
        if alert:
            await _raise_risk_flag(uow, case, measure_id=None, request_key=given.request_key)
        raise InvalidFields(problems, keeps_work=alert)
    answers = [int(a) for a in given.answers]  # type: ignore[call-overload]  # all passed the checks above
    scored = score(given.instrument, answers, uow.rules)
    measure = Measure(
        id=uuid.uuid4(), pathway_id=pathway_id, instrument=given.instrument, answers=tuple(answers),
        total=scored.total, band=scored.band, flags=scored.flags, context=given.context,
        rule_set_version=uow.rules.version, recorded_by=given.staff_id, recorded_at=uow.events.now,
    )
    await uow.screening.add_measure(measure=measure, request_key=given.request_key)
    if alert:  # its event goes out before the measure's own
        await _raise_risk_flag(uow, case, measure_id=measure.id, request_key=given.request_key)
    await uow.events.emit(pathway_id, catalogue.MeasureRecorded(
        measure_id=measure.id, instrument=measure.instrument, total=measure.total, band=measure.band,
        context=measure.context, flags=list(measure.flags), rule_set_version=measure.rule_set_version,
    ))
    return measure


async def _raise_risk_flag(
    uow: UnitOfWork, case: ScreeningCase, *, measure_id: uuid.UUID | None, request_key: str | None
) -> None:
    flag = RiskFlag(alert_id=uuid.uuid4(), reason=ITEM9_FLAG, severity="urgent", measure_id=measure_id,
                    raised_at=uow.events.now)
    await uow.screening.add_risk_flag(pathway_id=case.pathway_id, flag=flag, rule_set_version=uow.rules.version,
                                      request_key=request_key)
    await uow.screening.save_case(case=case.flag_risk())
    await uow.events.emit(case.pathway_id, catalogue.RiskFlagged(
        alert_id=flag.alert_id, reason=ITEM9_FLAG, severity="urgent", measure_id=measure_id,
        rule_set_version=uow.rules.version,
    ))


async def record_history(uow: UnitOfWork, pathway_id: uuid.UUID, history: History) -> Proposal:
    """Check the health history against the contraindication rules and store the proposal."""
    case = await uow.screening.get_case(pathway_id=pathway_id, for_update=True)
    facts = await uow.screening.facts(pathway_id=pathway_id)
    if facts is None:
        raise IllegalMove("the pathway's enquiry facts (age band) have not arrived yet; try again shortly")
    proposal = propose(history, age_band=facts[0], rules=uow.rules)
    await uow.screening.save_case(case=case.record_history(proposal))
    await uow.screening.save_history(pathway_id=pathway_id, history=history)
    return proposal


async def review_risk(uow: UnitOfWork, pathway_id: uuid.UUID, *, doctor_id: str, risk_level: str) -> ScreeningCase:
    """A doctor's risk review answers every open safety flag of the pathway → `screening.risk.reviewed` (a course
    is held while the latest review found high risk, or while a flag raised after it waits)."""
    case = (await uow.screening.get_case(pathway_id=pathway_id, for_update=True)).review_risk(risk_level)
    await uow.screening.review_risk_flags(pathway_id=pathway_id, doctor_id=doctor_id, at=uow.events.now,
                                          level=risk_level)
    await uow.screening.save_case(case=case)
    await uow.events.emit(pathway_id, catalogue.RiskReviewed(
        risk_level=risk_level, reviewed_by=doctor_id, rule_set_version=uow.rules.version,
    ))
    return case


async def acknowledge_alert(uow: UnitOfWork, pathway_id: uuid.UUID, event: catalogue.AlertAcknowledged) -> None:
    """Staff acknowledged an alert; if it is one of ours, note who and when, and put them on the client's care team:
    the on-call doctor who answers an item-9 alert must be able to open the case."""
    if await uow.screening.acknowledge_flag(alert_id=event.alert_id, by=event.acknowledged_by, at=uow.events.now):
        await uow.care_team.add(pathway_id=pathway_id, staff_id=event.acknowledged_by, role="on_call",
                                source="alert_acknowledged", added_by=event.acknowledged_by, at=uow.events.now)


async def sign_off(uow: UnitOfWork, pathway_id: uuid.UUID, decision: SignOff) -> ScreeningCase:
    """The doctor's decision → `screening.completed` (with the proposal, override and baseline totals)."""
    case = await uow.screening.get_case(pathway_id=pathway_id, for_update=True)
    facts = await uow.screening.facts(pathway_id=pathway_id)
    age_band, concerns = facts or (None, ())
    baseline = latest_baseline_totals(await uow.screening.measures(pathway_id=pathway_id))
    case = case.sign_off(
        decision, baseline_taken=set(baseline), required=required_baseline(concerns, uow.rules), now=uow.events.now
    )
    await uow.screening.save_case(case=case)
    await uow.care_team.add(pathway_id=pathway_id, staff_id=decision.doctor_id, role="doctor", source="sign_off",
                            added_by=decision.doctor_id, at=uow.events.now)
    await uow.events.emit(pathway_id, catalogue.ScreeningCompleted(
        outcome=case.outcome, proposed_outcome=case.proposal.outcome,
        contraindication_codes=list(case.proposal.codes), overridden=case.overridden, signed_by=case.signed_by,
        baseline_totals=baseline, care_team=await uow.care_team.members(pathway_id=pathway_id),
        indications=list(concerns), age_band=age_band,
        rule_set_version=case.proposal.rule_set_version,
    ))
    return case


def latest_baseline_totals(measures: list[Measure]) -> dict[str, int]:
    """The most recent baseline total per instrument."""
    return {m.instrument: m.total for m in measures if m.context == "baseline"}
