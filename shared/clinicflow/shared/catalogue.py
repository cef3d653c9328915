"""The event catalogue: every event type on the clinicflow bus, its topic, producer and payload model.

This module is the source of truth for the contract in docs/contracts.md. Topic = type + `.v1`; the key of every message
is the pathway id (the envelope's subject). No payload here carries a name, contact detail, date of birth, free
text or questionnaire answer, except the upstream web form, which only intake reads.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Concern = Literal["depression", "anxiety", "ptsd", "chronic_pain", "other"]
ContactWindow = Literal["morning", "afternoon", "evening", "any"]
Channel = Literal["web_form", "phone", "live_chat"]
# Age bands split at 65 because age >= 65 changes screening (docs/clinical-rules.md §3) and pre-dose BP limits (§4).
AgeBand = Literal["18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75+"]
CallbackOutcome = Literal["reached", "no_answer", "voicemail", "wrong_number", "declined"]
FundingRoute = Literal["self_funded", "insured"]
CloseReason = Literal["declined", "unreachable", "not_suitable", "duplicate"]
Instrument = Literal["phq9", "gad7", "pcl5", "pain_nrs"]
MeasureContext = Literal["baseline", "pre_session", "follow_up"]
ScreeningOutcome = Literal["eligible", "ineligible"]
ProposedOutcome = Literal["eligible", "needs_review", "ineligible"]
Severity = Literal["urgent", "high", "routine"]
Route = Literal["iv", "im", "intranasal"]
RiskLevel = Literal["low", "moderate", "high"]
SessionOutcome = Literal["discharged", "abandoned", "transferred_to_hospital"]
SessionStep = Literal["pre_dose", "dose", "discharge"]
NotificationChannel = Literal["email", "chat", "sms", "inbox"]


class Payload(BaseModel):
    """Base of every payload: immutable, and tolerant of fields added later in the same version. An event's payload
    class names its event type once (``event_type``); nested parts of a payload have none."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    event_type: ClassVar[str]


class WebFormEnquirySubmitted(Payload):
    """The raw admissions form as an upstream web form emits it. Identifiable: intake alone reads it."""

    event_type: ClassVar[str] = "webform.enquiry.submitted"

    model_config = ConfigDict(frozen=True, extra="forbid")

    submission_id: str = Field(min_length=1, max_length=200, description="The form's own id for this submission.")
    first_name: str = Field(description="Given name (identifiable).")
    last_name: str = Field(description="Family name (identifiable).")
    email: str | None = Field(None, description="Email address (identifiable).")
    phone: str | None = Field(None, description="Phone number, any common format (identifiable).")
    date_of_birth: str = Field(description="ISO date of birth (identifiable).")
    concerns: list[str] = Field(description="What the person wants help with.")
    story: str | None = Field(None, description="Free text in the person's words (identifiable).")
    preferred_contact_window: str = Field(description="When the person prefers a call back.")
    channel: str = Field("web_form", description="How the enquiry came in.")
    consent_to_contact: bool = Field(description="The person agreed to be contacted.")
    privacy_notice_version: str = Field(description="Version of the privacy notice the person saw.")


class EnquiryReceived(Payload):
    """A valid enquiry was accepted: the pathway starts."""

    event_type: ClassVar[str] = "enquiry.received"

    channel: Channel = Field(description="How the enquiry came in.")
    concerns: list[Concern] = Field(description="Conditions the person asks about.")
    age_band: AgeBand = Field(description="Age band at enquiry (never the date of birth).")
    preferred_contact_window: ContactWindow = Field(description="When the person prefers a call back.")
    consent_version: str = Field(description="Privacy notice version consented to.")
    received_at: AwareDatetime = Field(description="When intake accepted the enquiry.")


class EnquiryCallbackLogged(Payload):
    """The contact centre logged a call-back attempt."""

    event_type: ClassVar[str] = "enquiry.callback.logged"

    attempt_number: int = Field(ge=1, description="1 for the first attempt.")
    outcome: CallbackOutcome = Field(description="What happened on the call.")
    next_attempt_due: AwareDatetime | None = Field(None, description="When to try again, if another attempt is due.")
    logged_by: str = Field(description="Staff id of the caller.")


class IntakeAssessmentBooked(Payload):
    """A formal intake assessment was booked."""

    event_type: ClassVar[str] = "intake.assessment.booked"

    assessment_at: AwareDatetime = Field(description="When the assessment takes place.")
    clinician_id: str = Field(description="Staff id of the assessing clinician.")
    funding_route: FundingRoute = Field(description="Self-funded or insured.")


class EnquiryClosed(Payload):
    """The enquiry was closed without (further) treatment."""

    event_type: ClassVar[str] = "enquiry.closed"

    reason: CloseReason = Field(description="Why it was closed.")


class EnquiryErased(Payload):
    """The person's identifiers were erased on request; coded history remains."""

    event_type: ClassVar[str] = "enquiry.erased"


class MeasureRecorded(Payload):
    """A validated questionnaire was scored (answers never leave screening)."""

    event_type: ClassVar[str] = "screening.measure.recorded"

    measure_id: uuid.UUID = Field(description="Id of the recorded measure.")
    instrument: Instrument = Field(description="Which instrument.")
    total: int = Field(ge=0, description="Total score.")
    band: str = Field(description="Severity band of the total (docs/clinical-rules.md §2).")
    context: MeasureContext = Field(description="Baseline, pre-session or follow-up.")
    flags: list[str] = Field(default_factory=list, description="Coded findings, e.g. `provisional_ptsd`.")
    rule_set_version: str = Field(description="Version of the scoring rules that produced this.")


class RiskFlagged(Payload):
    """An urgent safety finding, e.g. a PHQ-9 item 9 answer of 1 or more."""

    event_type: ClassVar[str] = "screening.risk.flagged"

    alert_id: uuid.UUID = Field(description="Id of the safety alert; acknowledgements name it.")
    reason: str = Field(description="Coded reason, e.g. `phq9_item9_self_harm_thoughts`.")
    severity: Severity = Field(description="How urgent.")
    measure_id: uuid.UUID | None = Field(None, description="The measure that raised it, if any.")
    rule_set_version: str = Field(description="Version of the rules that raised it.")


class RiskReviewed(Payload):
    """A doctor reviewed the risk a safety flag raised (or reviewed a high finding again); high holds the course."""

    event_type: ClassVar[str] = "screening.risk.reviewed"

    risk_level: RiskLevel = Field(description="What the review found.")
    reviewed_by: str = Field(description="Staff id of the reviewing doctor.")
    rule_set_version: str = Field(description="Version of the screening rules.")


class ScreeningCompleted(Payload):
    """A doctor signed off the screening outcome."""

    event_type: ClassVar[str] = "screening.completed"

    outcome: ScreeningOutcome = Field(description="The doctor's decision.")
    proposed_outcome: ProposedOutcome = Field(description="What the rules proposed.")
    contraindication_codes: list[str] = Field(description="Contraindication codes found (docs/clinical-rules.md §3).")
    overridden: bool = Field(description="The doctor decided against the proposal (with a recorded reason).")
    signed_by: str = Field(description="Staff id of the signing doctor.")
    baseline_totals: dict[str, int] = Field(description="Baseline total per instrument, e.g. {'phq9': 17}.")
    care_team: dict[str, str] = Field(default_factory=dict, description="The client's care team at sign-off, staff "
                                      "id → role: the course's team starts with them.")
    indications: list[Concern] = Field(default_factory=list, description="Conditions to treat.")
    age_band: AgeBand | None = Field(None, description="Age band, for age-aware dosing and BP limits.")
    rule_set_version: str = Field(description="Version of the contraindication rules.")


class CourseStarted(Payload):
    """A treatment course was opened for an eligible client."""

    event_type: ClassVar[str] = "course.started"

    course_id: uuid.UUID = Field(description="Id of the course.")
    planned_sessions: int = Field(ge=1, description="Planned dosing sessions (usually 6 to 8).")
    indications: list[Concern] = Field(description="Conditions treated.")
    baseline_phq9: int | None = Field(None, description="Baseline PHQ-9 total, when taken.")


class SessionDeferred(Payload):
    """A dosing session was deferred, e.g. for pre-dose blood pressure."""

    event_type: ClassVar[str] = "session.deferred"

    course_id: uuid.UUID = Field(description="Id of the course.")
    session_id: uuid.UUID = Field(description="Id of the dosing session.")
    reason_codes: list[str] = Field(description="Coded reasons, e.g. `pre_dose_bp_above_guide`.")
    rule_set_version: str = Field(description="Version of the monitoring rules.")


class VitalsAlerted(Payload):
    """An in-session reading breached an alert threshold."""

    event_type: ClassVar[str] = "session.vitals.alerted"

    alert_id: uuid.UUID = Field(description="Id of the safety alert; acknowledgements name it.")
    course_id: uuid.UUID = Field(description="Id of the course.")
    session_id: uuid.UUID = Field(description="Id of the dosing session.")
    breached: list[str] = Field(description="Breached thresholds, e.g. `systolic_above_180`.")
    severity: Severity = Field(description="How urgent.")
    rule_set_version: str = Field(description="Version of the monitoring rules.")


class VitalsSummary(Payload):
    """Extremes of the in-session vital signs."""

    max_systolic: int | None = Field(None, description="Highest systolic BP, mmHg.")
    max_diastolic: int | None = Field(None, description="Highest diastolic BP, mmHg.")
    max_heart_rate: int | None = Field(None, description="Highest heart rate, bpm.")
    min_heart_rate: int | None = Field(None, description="Lowest heart rate, bpm.")
    min_spo2: int | None = Field(None, description="Lowest SpO2, %.")
    readings: int = Field(0, description="Number of readings.")


class SessionLogged(Payload):
    """A dosing session ended after its dose: the client discharged, or the session abandoned or transferred."""

    event_type: ClassVar[str] = "session.logged"

    course_id: uuid.UUID = Field(description="Id of the course.")
    session_id: uuid.UUID = Field(description="Id of the dosing session.")
    session_number: int = Field(ge=1, description="1 for the course's first session.")
    route: Route = Field(description="IV, IM or intranasal.")
    dose_mg: float = Field(description="Dose given, mg.")
    dose_mg_per_kg: float | None = Field(None, description="Weight-based dose, mg/kg, when prescribed so.")
    monitoring_minutes: int = Field(description="Minutes from dosing to discharge.")
    vitals_summary: VitalsSummary = Field(description="Extremes of the session's vital signs.")
    lowest_moaas: int | None = Field(None, description="Lowest MOAA/S sedation score (5 alert .. 0).")
    peak_dissociation: int | None = Field(None, description="Highest CADSS-6 total.")
    adverse_event_codes: list[str] = Field(default_factory=list, description="Coded adverse events.")
    discharged_at: AwareDatetime = Field(description="When the client left: discharged, or when the session ended.")
    rule_set_version: str = Field(description="Version of the monitoring rules.")
    outcome: SessionOutcome = Field("discharged", description="How the session ended.")
    ended_early: bool = Field(False, description="Abandoned after the dose, or transferred to hospital.")
    dosed_at: AwareDatetime | None = Field(None, description="When the dose was given.")
    infusion_minutes: int | None = Field(None, description="IV only: how long the infusion ran.")
    ordered_by: str | None = Field(None, description="Staff id of the supervising doctor who ordered the dose.")
    given_by: str | None = Field(None, description="Staff id of the person who gave it.")
    witnessed_by: str | None = Field(None, description="Staff id of the second person who witnessed it.")
    supervising_doctor: str | None = Field(None, description="Staff id of the doctor supervising the session.")
    monitoring_nurse: str | None = Field(None, description="Staff id of the nurse monitoring the client.")
    therapist: str | None = Field(None, description="Staff id of the therapist in the room.")


class DoseAdministered(Payload):
    """A controlled drug was given and the administration record is complete: witnessed by a second member of staff,
    or the session ended without a witness (``witnessed_by`` is then empty). The register enters it once."""

    event_type: ClassVar[str] = "session.dose.administered"

    course_id: uuid.UUID = Field(description="Id of the course.")
    session_id: uuid.UUID = Field(description="Id of the dosing session: one administration per session.")
    route: Route = Field(description="IV, IM or intranasal.")
    product: str = Field(description="The register's product code, e.g. `ketamine-10mg-ml-20ml`.")
    batch: str = Field(description="The batch (lot) the dose was drawn from.")
    amount_mg: float = Field(gt=0, description="Amount given, mg.")
    volume_drawn_ml: float | None = Field(None, description="Volume drawn up, mL (solutions; none for a device).")
    given_by: str = Field(description="Staff id of the person who gave it.")
    given_at: AwareDatetime = Field(description="When it was given.")
    witnessed_by: str | None = Field(None, description="Staff id of the witness; empty when nobody witnessed it.")
    witnessed_at: AwareDatetime | None = Field(None, description="When the witness confirmed it.")


class SessionOverridden(Payload):
    """A doctor went ahead despite a safety rule; the written reason stays in sessions."""

    event_type: ClassVar[str] = "session.overridden"

    course_id: uuid.UUID = Field(description="Id of the course.")
    session_id: uuid.UUID = Field(description="Id of the dosing session.")
    step: SessionStep = Field(description="Where: the pre-dose check, the dose, or discharge.")
    rule: str = Field(description="The rule overridden, e.g. `pre_dose_bp_above_guide`, `dose_outside_protocol`.")
    overridden_by: str = Field(description="Staff id of the doctor.")
    rule_set_version: str = Field(description="Version of the monitoring rules.")


class IntegrationDue(Payload):
    """An integration-therapy session falls due after a dosing session."""

    event_type: ClassVar[str] = "integration.due"

    integration_id: uuid.UUID = Field(description="Id of the integration session.")
    session_id: uuid.UUID = Field(description="The dosing session it follows.")
    due_by: AwareDatetime = Field(description="When it should have happened by.")


class IntegrationOverdue(Payload):
    """An integration session was not completed in its window."""

    event_type: ClassVar[str] = "integration.overdue"

    integration_id: uuid.UUID = Field(description="Id of the integration session.")
    session_id: uuid.UUID = Field(description="The dosing session it follows.")
    overdue_since: AwareDatetime = Field(description="When the window closed.")


class IntegrationCompleted(Payload):
    """The therapist recorded the integration session."""

    event_type: ClassVar[str] = "integration.completed"

    integration_id: uuid.UUID = Field(description="Id of the integration session.")
    session_id: uuid.UUID = Field(description="The dosing session it follows.")
    completed_by: str = Field(description="Staff id of the therapist.")
    did_not_attend: bool = Field(False, description="The client did not attend: the team is told.")
    concerns: list[str] = Field(default_factory=list, description="Coded concerns for the team, e.g. `self_harm`.")
    risk_flag: bool = Field(False, description="The therapist flagged a risk (also `integration.risk.flagged`).")


class IntegrationRiskFlagged(Payload):
    """A therapist flagged a risk at integration: urgent for the supervising doctor; the next dose waits for a
    doctor's risk review (docs/clinical-rules.md §5)."""

    event_type: ClassVar[str] = "integration.risk.flagged"

    alert_id: uuid.UUID = Field(description="Id of the safety alert; acknowledgements name it.")
    integration_id: uuid.UUID = Field(description="Id of the integration session.")
    course_id: uuid.UUID = Field(description="Id of the course.")
    concerns: list[str] = Field(description="Coded concerns the therapist recorded.")
    severity: Severity = Field(description="How urgent (always urgent).")
    flagged_by: str = Field(description="Staff id of the therapist.")


class TrajectoryPoint(BaseModel):
    """One measure of an instrument during the course."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    total: int = Field(description="Total score.")
    measured_at: AwareDatetime = Field(description="When it was taken.")
    after_session: int = Field(description="Dosing sessions logged before it was taken.")


class InstrumentFigures(BaseModel):
    """One instrument against the course's baseline (docs/clinical-rules.md §5)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    baseline: int = Field(description="Screening's baseline total.")
    latest: int = Field(description="The latest total (the baseline until one is taken).")
    change_percent: float = Field(description="Change from baseline, % (negative is improvement).")
    response: bool | None = Field(description="Fallen 50 % or more; None where the baseline is too low to tell.")
    remission: bool | None = Field(description="At or below the instrument's remission total; None likewise.")
    trajectory: list[TrajectoryPoint] = Field(description="Every measure during the course, oldest first.")


class CourseProgressUpdated(Payload):
    """A measure during the course changed its outcome figures (docs/clinical-rules.md §2, §5). The PHQ-9 fields
    stay as before (latest is the baseline until a PHQ-9 is taken); ``instruments`` has every instrument."""

    event_type: ClassVar[str] = "course.progress.updated"

    course_id: uuid.UUID = Field(description="Id of the course.")
    baseline_phq9: int = Field(description="The course's baseline PHQ-9 total.")
    latest_phq9: int = Field(description="The latest PHQ-9 total.")
    change_percent: float = Field(description="Change from baseline, % (negative is improvement).")
    response: bool | None = Field(description="PHQ-9 down 50 % or more; None when baseline < 10 (not meaningful).")
    remission: bool | None = Field(description="PHQ-9 below 5; None when baseline < 10 (not meaningful).")
    instrument: Instrument | None = Field(None, description="The instrument whose measure changed the figures.")
    instruments: dict[Instrument, InstrumentFigures] = Field(
        default_factory=dict, description="Every instrument the client was screened on, with its trajectory.")
    rule_set_version: str | None = Field(None, description="Version of the outcome rules.")


class CourseDeteriorated(Payload):
    """A measure during the course is worse than baseline by the deterioration rule (PHQ-9 up 5 or more): the care
    team is told at once (docs/clinical-rules.md §5)."""

    event_type: ClassVar[str] = "course.deteriorated"

    alert_id: uuid.UUID = Field(description="Id of the alert; acknowledgements name it.")
    course_id: uuid.UUID = Field(description="Id of the course.")
    instrument: Instrument = Field(description="Which instrument.")
    baseline: int = Field(description="Screening's baseline total.")
    latest: int = Field(description="The total that deteriorated.")
    measure_id: uuid.UUID = Field(description="The measure.")
    rule_set_version: str = Field(description="Version of the outcome rules.")


class CourseReviewDue(Payload):
    """A doctor's non-response review of the course is due: PHQ-9 fallen less than 25 % after session 4."""

    event_type: ClassVar[str] = "course.review.due"

    course_id: uuid.UUID = Field(description="Id of the course.")
    reason: Literal["non_response"] = Field(description="Why.")
    after_session: int = Field(description="Dosing sessions logged when it fell due.")
    phq9_change_percent: float = Field(description="PHQ-9 change from baseline, %.")
    rule_set_version: str = Field(description="Version of the outcome rules.")


class CoursePlanChanged(Payload):
    """A doctor changed the course's plan: how many sessions, or a move to maintenance."""

    event_type: ClassVar[str] = "course.plan.changed"

    course_id: uuid.UUID = Field(description="Id of the course.")
    change: Literal["planned", "maintenance"] = Field(description="What changed.")
    planned_sessions: int = Field(description="Sessions the course now plans (maintenance ones included).")
    phase: Literal["acute", "maintenance"] = Field(description="The course's phase.")
    maintenance_interval_days: int | None = Field(None, description="Days between maintenance sessions.")
    changed_by: str = Field(description="Staff id of the doctor.")
    rule_set_version: str = Field(description="Version of the sessions rules.")


class CourseStopped(Payload):
    """A doctor stopped the course early, with a coded reason; sessions not yet dosed are cancelled."""

    event_type: ClassVar[str] = "course.stopped"

    course_id: uuid.UUID = Field(description="Id of the course.")
    reason: str = Field(description="Coded reason, e.g. `non_response`, `adverse_event`, `client_choice`.")
    sessions_completed: int = Field(description="Dosing sessions logged.")
    stopped_by: str = Field(description="Staff id of the doctor.")
    rule_set_version: str = Field(description="Version of the sessions rules.")


class CourseCompleted(Payload):
    """The last planned session and its integration are done."""

    event_type: ClassVar[str] = "course.completed"

    course_id: uuid.UUID = Field(description="Id of the course.")
    sessions_completed: int = Field(description="Dosing sessions logged.")
    baseline_phq9: int | None = Field(None, description="Baseline PHQ-9 total.")
    final_phq9: int | None = Field(None, description="Last PHQ-9 total.")
    change_percent: float | None = Field(None, description="Change from baseline, %.")
    response: bool | None = Field(None, description="Response at the end of the course.")
    remission: bool | None = Field(None, description="Remission at the end of the course.")
    instruments: dict[Instrument, InstrumentFigures] = Field(
        default_factory=dict, description="Final figures on every instrument the client was screened on.")


DiscrepancyKind = Literal["stock_count_differs", "wastage_not_recorded", "unknown_product", "unknown_batch",
                          "drawn_less_than_given", "unwitnessed_administration", "negative_balance"]


class RegisterDiscrepancyFound(Payload):
    """The controlled-drugs register found something that does not add up; the clinical lead and the accountable
    officer look at once. The subject is the register page's id, not a pathway."""

    event_type: ClassVar[str] = "register.discrepancy.found"

    discrepancy_id: uuid.UUID = Field(description="Id of the discrepancy in the register.")
    product: str = Field(description="The register page's product code.")
    kind: DiscrepancyKind = Field(description="What does not add up.")
    difference_mg: float | None = Field(None, description="How much, mg (counted minus register, or unaccounted).")
    found_at: AwareDatetime = Field(description="When the register found it.")
    rule_set_version: str = Field(description="Version of the register rules.")


class RegisterStockLow(Payload):
    """A register page's balance fell below its reorder level; the pharmacy contact reorders. Subject: the page."""

    event_type: ClassVar[str] = "register.stock.low"

    product: str = Field(description="The register page's product code.")
    balance_units: float = Field(description="Balance in the product's units (vials, devices).")
    reorder_level_units: int = Field(description="The reorder level, in the same units.")
    rule_set_version: str = Field(description="Version of the register rules.")


class AlertAcknowledged(Payload):
    """A member of staff acknowledged an urgent alert."""

    event_type: ClassVar[str] = "alert.acknowledged"

    alert_id: uuid.UUID = Field(description="The alert acknowledged.")
    acknowledged_by: str = Field(description="Staff id.")


class RecordOpenedByBreakGlass(Payload):
    """Someone not on the client's care team opened their clinical record, giving a reason. The reason stays with the
    record's service, where the clinical lead reviews it (``GET /break-glass``); the event says who, what and when."""

    read_id: int = Field(description="The read's entry in the service's read log.")
    staff_id: str = Field(description="Staff id of the person who broke the glass.")
    resource: str = Field(description="Which record was opened, e.g. `screening` or `course`.")
    read_at: AwareDatetime = Field(description="When.")


class ScreeningRecordBreakGlass(RecordOpenedByBreakGlass):
    """A screening record was opened by someone not on the client's care team."""

    event_type: ClassVar[str] = "screening.record.break_glass"


class CourseRecordBreakGlass(RecordOpenedByBreakGlass):
    """A course record (sessions, vital signs) was opened by someone not on the client's care team."""

    event_type: ClassVar[str] = "course.record.break_glass"


class NotificationSent(Payload):
    """A notification was delivered (delivery audit)."""

    event_type: ClassVar[str] = "notification.sent"

    notification_id: uuid.UUID = Field(description="Id of the delivery.")
    source_event_id: uuid.UUID = Field(description="The event that caused it.")
    channel: NotificationChannel = Field(description="Channel used.")
    recipient_role: str = Field(description="Role of the recipient (never a name or address).")
    attempt_count: int = Field(ge=1, description="Attempts it took.")


class NotificationFailed(NotificationSent):
    """A notification could not be delivered after the configured attempts."""

    event_type: ClassVar[str] = "notification.failed"

    reason: str = Field(description="Coded reason for the failure.")


SERVICES = frozenset({"intake", "screening", "sessions", "notifications", "register"})


@dataclass(frozen=True)
class EventSpec:
    """One event type: its name, the one service that produces it, the services that consume it, and its payload
    model."""

    payload: type[Payload]
    producer: str
    consumers: frozenset[str] = frozenset()  # who may read it: the broker's ACLs grant exactly these
    version: int = 1
    identifiable: bool = False  # carries personal data: its topics get a short retention

    @property
    def type(self) -> str:
        """The event type, as its payload class names it."""
        return self.payload.event_type

    @property
    def topic(self) -> str:
        """Kafka topic: type plus version."""
        return f"{self.type}.v{self.version}"

    @property
    def dead_letter_topic(self) -> str:
        """Where messages on this topic that cannot be processed go."""
        return f"{self.topic}.dlq"

    @property
    def source(self) -> str | None:
        """The envelope ``source`` its producer stamps: consumers refuse any other. None for a producer outside
        clinicflow (upstream web forms), whose topic only the broker's ACLs guard."""
        return f"clinicflow/{self.producer}" if self.producer in SERVICES else None


# Who consumes what. Notifications tells staff about every pathway event (what each becomes is its routing rules).
INTAKE, SCREENING, SESSIONS, REGISTER = (frozenset({name}) for name in ("intake", "screening", "sessions", "register"))
NOTIFIED = frozenset({"notifications"})

CATALOGUE: dict[str, EventSpec] = {
    spec.type: spec
    for spec in (
        EventSpec(WebFormEnquirySubmitted, "webform", INTAKE, identifiable=True),
        EventSpec(EnquiryReceived, "intake", SCREENING | NOTIFIED),
        EventSpec(EnquiryCallbackLogged, "intake", NOTIFIED),
        EventSpec(IntakeAssessmentBooked, "intake", SCREENING | NOTIFIED),
        EventSpec(EnquiryClosed, "intake", SCREENING | SESSIONS | NOTIFIED),
        EventSpec(EnquiryErased, "intake", SCREENING | SESSIONS | NOTIFIED),
        EventSpec(MeasureRecorded, "screening", SESSIONS | NOTIFIED),
        EventSpec(RiskFlagged, "screening", SESSIONS | NOTIFIED),
        EventSpec(RiskReviewed, "screening", SESSIONS | NOTIFIED),
        EventSpec(ScreeningCompleted, "screening", SESSIONS | NOTIFIED),
        EventSpec(CourseStarted, "sessions", NOTIFIED),
        EventSpec(SessionDeferred, "sessions", NOTIFIED),
        EventSpec(VitalsAlerted, "sessions", NOTIFIED),
        EventSpec(SessionLogged, "sessions", NOTIFIED),
        EventSpec(SessionOverridden, "sessions", NOTIFIED),
        EventSpec(DoseAdministered, "sessions", REGISTER | NOTIFIED),
        EventSpec(IntegrationDue, "sessions", NOTIFIED),
        EventSpec(IntegrationOverdue, "sessions", NOTIFIED),
        EventSpec(IntegrationCompleted, "sessions", NOTIFIED),
        EventSpec(IntegrationRiskFlagged, "sessions", NOTIFIED),
        EventSpec(CourseProgressUpdated, "sessions", NOTIFIED),
        EventSpec(CourseDeteriorated, "sessions", NOTIFIED),
        EventSpec(CourseReviewDue, "sessions", NOTIFIED),
        EventSpec(CoursePlanChanged, "sessions", NOTIFIED),
        EventSpec(CourseStopped, "sessions", NOTIFIED),
        EventSpec(CourseCompleted, "sessions", NOTIFIED),
        EventSpec(RegisterDiscrepancyFound, "register", NOTIFIED),
        EventSpec(RegisterStockLow, "register", NOTIFIED),
        EventSpec(ScreeningRecordBreakGlass, "screening", NOTIFIED),
        EventSpec(CourseRecordBreakGlass, "sessions", NOTIFIED),
        EventSpec(AlertAcknowledged, "notifications", SCREENING | SESSIONS),
        EventSpec(NotificationSent, "notifications"),
        EventSpec(NotificationFailed, "notifications"),
    )
}


def spec_for(event_type: str) -> EventSpec:
    """The catalogue entry for a type; ``KeyError`` for a type nobody declared."""
    return CATALOGUE[event_type]


def produced_by(service: str) -> list[EventSpec]:
    """Event types a service publishes."""
    return [spec for spec in CATALOGUE.values() if spec.producer == service]


def consumed_by(service: str) -> list[str]:
    """Event types a service consumes (and so may read and dead-letter)."""
    return [spec.type for spec in CATALOGUE.values() if service in spec.consumers]


def consumer_group(service: str, topic_prefix: str = "") -> str:
    """The Kafka consumer group a service's instances share."""
    return f"{topic_prefix}clinicflow-{service}"


def all_topics() -> list[str]:
    """Every topic and its dead-letter topic, for creating them up front."""
    return [t for spec in CATALOGUE.values() for t in (spec.topic, spec.dead_letter_topic)]
