"""Sessions' Kafka subscribers: screening opens courses, follows progress and holds a course for risk; a closed or
erased enquiry withdraws it; acknowledgements mark alerts."""

from __future__ import annotations

from clinicflow.sessions import care, courses, dosing_steps
from clinicflow.sessions.repository import SessionsRepository
from clinicflow.sessions.rules import SessionRules
from clinicflow.sessions.safety import RiskFinding
from clinicflow.sessions.unit_of_work import SOURCE, UnitOfWork
from clinicflow.shared.care_team import CareTeamRepository
from clinicflow.shared.consumer import Delivery, Handler
from clinicflow.shared.runtime import Clock


def build_handlers(rules: SessionRules, clock: Clock) -> dict[str, Handler]:
    """The events sessions consumes, with their handlers."""

    def unit_of_work(delivery: Delivery) -> UnitOfWork:
        events = delivery.events(SOURCE, clock())
        conn = delivery.connection
        return UnitOfWork(SessionsRepository(conn), CareTeamRepository(conn), events, rules)

    async def on_screening_completed(delivery: Delivery) -> None:
        uow = unit_of_work(delivery)
        await care.join_from_screening(uow, delivery.envelope.subject, delivery.payload)
        await courses.open_course(uow, delivery.envelope.subject, delivery.payload)

    async def on_measure_recorded(delivery: Delivery) -> None:
        await courses.note_measure(unit_of_work(delivery), delivery.envelope.subject, delivery.payload,
                                   measured_at=delivery.envelope.time)

    async def on_alert_acknowledged(delivery: Delivery) -> None:
        await dosing_steps.acknowledge_alert(unit_of_work(delivery), delivery.envelope.subject, delivery.payload)

    async def on_risk_finding(delivery: Delivery) -> None:
        # Screening's time, not arrival order: flags and reviews come on two topics (see safety.py).
        level = getattr(delivery.payload, "risk_level", None)
        finding = RiskFinding(at=delivery.envelope.time, level=level, reason=getattr(delivery.payload, "reason", None))
        await courses.note_risk_finding(unit_of_work(delivery), delivery.envelope.id, delivery.envelope.subject,
                                        finding)

    async def on_enquiry_ended(delivery: Delivery) -> None:
        erased = delivery.envelope.type == "enquiry.erased"
        reason = "erased" if erased else delivery.payload.reason
        await courses.end_course_for_enquiry(unit_of_work(delivery), delivery.envelope.subject, reason=reason,
                                             erase=erased)

    return {
        "screening.completed": on_screening_completed,
        "screening.measure.recorded": on_measure_recorded,
        "screening.risk.flagged": on_risk_finding,
        "screening.risk.reviewed": on_risk_finding,
        "enquiry.closed": on_enquiry_ended,
        "enquiry.erased": on_enquiry_ended,
        "alert.acknowledged": on_alert_acknowledged,
    }
