"""Sessions' HTTP bodies: what each route accepts (strict: unknown fields refused) and answers.
No ``from __future__ import annotations`` here: pydantic and FastAPI resolve these annotations at runtime.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from clinicflow.sessions.acts import Act
from clinicflow.sessions.dosing_session import DosingSession
from clinicflow.sessions.integration import Integration
from clinicflow.shared.catalogue import InstrumentFigures

Code = Annotated[str, Field(pattern=r"^[a-z0-9_]{2,60}$")]
Reason = Annotated[str, Field(min_length=10, max_length=2000, description="The doctor's reason, in words.")]
StaffId = Annotated[str, Field(min_length=1, max_length=100, description="A member of staff's id.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VitalsIn(_Strict):
    systolic: int = Field(ge=40, le=300, description="mmHg")
    diastolic: int = Field(ge=20, le=200, description="mmHg")
    heart_rate: int = Field(ge=20, le=250, description="beats per minute")
    spo2: int = Field(ge=50, le=100, description="% on room air")


class ScheduleIn(_Strict):
    scheduled_at: AwareDatetime


class PreDoseIn(VitalsIn):
    respiratory_rate: int = Field(ge=4, le=60, description="breaths per minute")
    weight_kg: float = Field(gt=20, lt=400)
    escort_confirmed: bool
    interacting_medicines_since_last: bool
    alcohol_or_drugs_last_24h: bool
    fasted_as_instructed: bool = Field(description="No food in the 2 hours before, as instructed.")
    pregnancy_excluded: bool = Field(description="Possible pregnancy excluded (true also where not applicable).")
    consent_reconfirmed: bool = Field(description="The client confirmed again their consent to the course.")
    measured_at: AwareDatetime | None = Field(None, description="When the check was done, if charted later.")


class PreparationIn(_Strict):
    topics: list[Code] = Field(min_length=1, description="What was covered (the rule file's preparation topics).")
    safety_plan: list[Code] = Field(min_length=1, description="The client's safety plan, as coded items.")
    held_at: AwareDatetime | None = Field(None, description="When the session took place, if charted later.")


class ConsentIn(_Strict):
    form_version: str = Field(min_length=1, max_length=100, description="The consent form the client signed.")
    signed_at: AwareDatetime | None = Field(None, description="When it was signed, if charted later.")


class OverrideIn(_Strict):
    rule: Code = Field(description="One deferral reason of this session.")
    reason: Reason


class TeamIn(_Strict):
    supervising_doctor: StaffId
    monitoring_nurse: StaffId
    therapist: StaffId


class DoseOrderIn(_Strict):
    route: Literal["iv", "im", "intranasal"]
    dose_mg_per_kg: float | None = Field(None, gt=0, le=5)
    dose_mg: float | None = Field(None, gt=0, le=500)
    infusion_minutes: int | None = Field(None, ge=1, le=600, description="IV only: how long the infusion runs.")
    override_reason: Reason | None = None
    team: TeamIn | None = Field(None, description="Who is in the room, named with the order (or on its own route); "
                                                 "no dose is given until they are named.")


class DoseGivenIn(_Strict):
    given_at: AwareDatetime | None = Field(None, description="When it was given, if charted later; default now.")
    product: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$",
                         description="The controlled-drugs register's product code, e.g. `ketamine-10mg-ml-20ml`.")
    batch: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/.-]{0,39}$", description="Batch (lot) on the vial or device.")
    volume_drawn_ml: float | None = Field(None, gt=0, le=100, description="Solutions: the volume drawn up, mL.")


class InSessionVitalsIn(VitalsIn):
    respiratory_rate: int | None = Field(None, ge=4, le=60, description="breaths per minute")
    moaas: int | None = Field(None, ge=0, le=5, description="MOAA/S: 5 alert .. 0 no response to pain")
    cadss: list[Annotated[int, Field(ge=0, le=4)]] | None = Field(None, min_length=6, max_length=6,
                                                                   description="CADSS-6 items")
    measured_at: AwareDatetime | None = Field(None, description="When taken, if charted later; default now.")


class ChecklistIn(_Strict):
    vitals_back_in_range: bool
    moaas_5: bool
    escort_present: bool
    no_driving_until_next_day_advised: bool
    instructions_given: bool
    next_session_booked: bool
    integration_booked: bool


class DischargeIn(_Strict):
    checklist: ChecklistIn
    adverse_event_codes: list[Code] = Field(default_factory=list)
    discharged_at: AwareDatetime | None = Field(None, description="When the client left, if charted later.")
    overrides: list[OverrideIn] = Field(default_factory=list, description="Doctor only: discharge criteria the last "
                                        "reading misses that this client's own baseline explains.")


class CancelIn(_Strict):
    reason: Code


class EndIn(_Strict):
    outcome: Literal["abandoned", "transferred_to_hospital"]
    reason: Code
    at: AwareDatetime | None = Field(None, description="When the session ended, if charted later.")
    adverse_event_codes: list[Code] = Field(default_factory=list)


class AdverseEventsIn(_Strict):
    adverse_event_codes: list[Code] = Field(min_length=1)


class ActOut(_Strict):
    by: str
    at: datetime
    entered_at: datetime

    @classmethod
    def of(cls, act: Act | None) -> "ActOut | None":
        return cls(by=act.by, at=act.at, entered_at=act.entered_at) if act else None


class TherapyNoteIn(_Strict):
    themes: list[Code] = Field(default_factory=list, description="Themes that came up (the rule file's codes).")
    concerns: list[Code] = Field(default_factory=list, description="Concerns for the team (the rule file's codes).")


class IntegrationOutcomeIn(_Strict):
    attended: bool
    themes: list[Code] = Field(default_factory=list, description="Themes worked on (the rule file's codes).")
    concerns: list[Code] = Field(default_factory=list, description="Concerns for the team (the rule file's codes).")
    risk_flag: bool = Field(False, description="A risk the supervising doctor must see: holds the next dose until a "
                                               "doctor's risk review.")


class RiskReviewIn(_Strict):
    risk_level: Literal["low", "moderate", "high"]


class PlanIn(_Strict):
    planned_sessions: int | None = Field(None, ge=1, le=50, description="Default: what the route suggests.")
    route: Literal["iv", "im", "intranasal"] | None = Field(None, description="The route planned, whose default "
                                                                             "applies when no number is given.")


class MaintenanceIn(_Strict):
    sessions: int = Field(ge=1, le=50, description="Maintenance sessions planned from now.")
    interval_days: int = Field(ge=1, le=365, description="Days at least between them.")


class StopIn(_Strict):
    reason: Code = Field(description="The rule file's course stop reasons.")


class ReviewIn(_Strict):
    decision: Code = Field(description="The rule file's review decisions.")


class TeamOut(_Strict):
    supervising_doctor: str
    monitoring_nurse: str
    therapist: str


class TherapyNoteOut(_Strict):
    themes: list[str]
    concerns: list[str]


class DoseOut(_Strict):
    route: str
    mg: float
    mg_per_kg: float | None
    weight_kg: float | None
    infusion_minutes: int | None
    within_protocol: bool
    overridden: bool
    product: str | None
    batch: str | None
    volume_drawn_ml: float | None


class OverrideOut(_Strict):
    step: str
    rule: str
    by: str
    reason: str | None
    at: datetime


class SessionOut(_Strict):
    session_id: uuid.UUID
    course_id: uuid.UUID
    status: str
    scheduled_at: datetime
    deferral_reasons: list[str]
    overrides: list[OverrideOut]
    checked: ActOut | None
    dose: DoseOut | None
    ordered: ActOut | None
    given: ActOut | None
    witnessed: ActOut | None
    dosed_at: datetime | None
    discharged: ActOut | None
    discharged_at: datetime | None
    ended: ActOut | None
    ended_reason: str | None
    session_number: int | None
    adverse_event_codes: list[str]
    adverse_events_reviewed: ActOut | None
    team: TeamOut | None
    therapy_note: TherapyNoteOut | None

    @classmethod
    def of(cls, s: DosingSession) -> "SessionOut":
        d = s.dose
        dose = d and DoseOut(route=d.route, mg=d.mg, mg_per_kg=d.mg_per_kg, weight_kg=d.weight_kg,
                             infusion_minutes=d.infusion_minutes, within_protocol=d.within_protocol,
                             overridden=d.override_reason is not None or not d.within_protocol,
                             product=s.supply and s.supply.product, batch=s.supply and s.supply.batch,
                             volume_drawn_ml=s.supply and s.supply.volume_drawn_ml)
        return cls(
            session_id=s.id, course_id=s.course_id, status=s.status.value, scheduled_at=s.scheduled_at,
            deferral_reasons=list(s.deferral_reasons), overrides=[OverrideOut(**o.__dict__) for o in s.overrides],
            checked=ActOut.of(s.checked), dose=dose, ordered=ActOut.of(s.ordered), given=ActOut.of(s.given),
            witnessed=ActOut.of(s.witnessed), dosed_at=s.dosed_at, discharged=ActOut.of(s.discharged),
            discharged_at=s.discharged_at, ended=ActOut.of(s.ended), ended_reason=s.ended_reason,
            session_number=s.session_number, adverse_event_codes=list(s.adverse_event_codes),
            adverse_events_reviewed=ActOut.of(s.adverse_events_reviewed),
            team=s.team and TeamOut(**s.team.__dict__),
            therapy_note=s.therapy_note and TherapyNoteOut(themes=list(s.therapy_note.themes),
                                                           concerns=list(s.therapy_note.concerns)),
        )


class VitalsOut(_Strict):
    phase: str
    measured_at: datetime
    systolic: int
    diastolic: int
    heart_rate: int
    spo2: int
    respiratory_rate: int | None
    moaas: int | None
    cadss_total: int | None
    breached: list[str]
    charted_by: str | None
    entered_at: datetime | None


class SessionDetail(SessionOut):
    vitals: list[VitalsOut]


class IntegrationOut(_Strict):
    integration_id: uuid.UUID
    session_id: uuid.UUID
    opens_at: datetime
    due_by: datetime
    completed_at: datetime | None
    completed_by: str | None
    cancelled_at: datetime | None
    outcome: IntegrationOutcomeIn | None
    risk_review: ActOut | None
    risk_level: str | None

    @classmethod
    def of(cls, i: Integration) -> "IntegrationOut":
        o = i.outcome
        outcome = o and IntegrationOutcomeIn(attended=o.attended, themes=list(o.themes), concerns=list(o.concerns),
                                             risk_flag=o.risk_flag)
        return cls(integration_id=i.id, session_id=i.session_id, opens_at=i.opens_at, due_by=i.due_by,
                   completed_at=i.completed_at, completed_by=i.completed_by, cancelled_at=i.cancelled_at,
                   outcome=outcome, risk_review=ActOut.of(i.risk_review), risk_level=i.risk_level)


class PreparationOut(_Strict):
    held: ActOut
    topics: list[str]
    safety_plan: list[str]


class ConsentOut(_Strict):
    recorded: ActOut
    form_version: str


class ReviewOut(_Strict):
    due_at: datetime
    decided: ActOut | None
    decision: str | None


class CourseOut(_Strict):
    course_id: uuid.UUID
    pathway_id: uuid.UUID
    status: str
    phase: str
    ended_reason: str | None = Field(description="Why the course was stopped or withdrawn (a code).")
    stopped_by: str | None
    preparation: PreparationOut | None
    consent: ConsentOut | None
    safety_hold: str | None = Field(description="Why no dose may be given now, when the course is on hold.")
    planned_sessions: int
    maintenance_interval_days: int | None
    non_response_review: ReviewOut | None
    indications: list[str]
    baseline_phq9: int | None
    latest_phq9: int | None
    outcomes: dict[str, InstrumentFigures] = Field(description="Every instrument the client was screened on.")
    started_at: datetime
    completed_at: datetime | None
    sessions: list[SessionDetail]
    integrations: list[IntegrationOut]


class CohortRow(_Strict):
    instrument: str
    rule_set_version: str
    ended_as: str = Field(description="completed or stopped")
    courses: int
    assessable: int = Field(description="Courses whose baseline lets response and remission mean something.")
    responders: int
    remitters: int
    response_rate: float | None = Field(description="responders / assessable")
    remission_rate: float | None = Field(description="remitters / assessable")
    mean_change: float = Field(description="Mean change from baseline, points (negative is improvement).")


class CohortOut(_Strict):
    outcomes: list[CohortRow]


class BreachesOut(_Strict):
    breached: list[str]
