"""Sessions' Kafka subscribers: screening opens courses and follows progress; acknowledgements mark alerts."""

from __future__ import annotations

from clinicflow.sessions import service
from clinicflow.sessions.repository import SessionsRepository
from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.consumer import Delivery, Handler
from clinicflow.shared.runtime import Clock


def build_handlers(rules: SessionRules, clock: Clock) -> dict[str, Handler]:
    """The events sessions consumes, with their handlers."""

    def unit_of_work(delivery: Delivery) -> service.UnitOfWork:
        events = delivery.events(service.SOURCE, clock())
        return service.UnitOfWork(SessionsRepository(delivery.connection), events, rules)

    async def on_screening_completed(delivery: Delivery) -> None:
        await service.open_course(unit_of_work(delivery), delivery.envelope.subject, delivery.payload)

    async def on_measure_recorded(delivery: Delivery) -> None:
        await service.note_measure(unit_of_work(delivery), delivery.envelope.subject, delivery.payload)

    async def on_alert_acknowledged(delivery: Delivery) -> None:
        await service.acknowledge_alert(unit_of_work(delivery), delivery.payload)

    return {
        "screening.completed": on_screening_completed,
        "screening.measure.recorded": on_measure_recorded,
        "alert.acknowledged": on_alert_acknowledged,
    }
