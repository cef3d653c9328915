"""Screening's Kafka subscribers: intake's events open, inform and close cases; acknowledgements mark flags."""

from __future__ import annotations

from clinicflow.screening import service
from clinicflow.screening.repository import ScreeningRepository
from clinicflow.screening.rules import RuleSet
from clinicflow.shared.care_team import CareTeamRepository
from clinicflow.shared.consumer import Delivery, Handler
from clinicflow.shared.runtime import Clock


def build_handlers(rules: RuleSet, clock: Clock) -> dict[str, Handler]:
    """The events screening consumes, with their handlers."""

    def unit_of_work(delivery: Delivery) -> service.UnitOfWork:
        events = delivery.events(service.SOURCE, clock())
        conn = delivery.connection
        return service.UnitOfWork(ScreeningRepository(conn), CareTeamRepository(conn), events, rules)

    async def on_enquiry_received(delivery: Delivery) -> None:
        await service.note_enquiry(unit_of_work(delivery), delivery.envelope.subject, delivery.payload)

    async def on_assessment_booked(delivery: Delivery) -> None:
        await service.open_case(unit_of_work(delivery), delivery.envelope.subject,
                                clinician_id=delivery.payload.clinician_id)

    async def on_enquiry_closed(delivery: Delivery) -> None:
        await service.close_case(unit_of_work(delivery), delivery.envelope.subject, reason=delivery.payload.reason)

    async def on_enquiry_erased(delivery: Delivery) -> None:
        await service.close_case(unit_of_work(delivery), delivery.envelope.subject, reason="erased")

    async def on_alert_acknowledged(delivery: Delivery) -> None:
        await service.acknowledge_alert(unit_of_work(delivery), delivery.envelope.subject, delivery.payload)

    return {
        "enquiry.received": on_enquiry_received,
        "intake.assessment.booked": on_assessment_booked,
        "enquiry.closed": on_enquiry_closed,
        "enquiry.erased": on_enquiry_erased,
        "alert.acknowledged": on_alert_acknowledged,
    }
