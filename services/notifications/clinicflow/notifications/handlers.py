"""Notifications' Kafka subscriber: every pathway event is routed to the staff who need to know."""

from __future__ import annotations

from clinicflow.notifications import service
from clinicflow.notifications.configfiles import CONSUMED
from clinicflow.notifications.repository import NotificationsRepository
from clinicflow.shared.consumer import Delivery, Handler
from clinicflow.shared.runtime import Clock

# After these, routine reminders about the pathway (call-backs, integration) would only bother staff for nothing.
ENQUIRY_ENDED = frozenset({"enquiry.closed", "enquiry.erased"})


def build_handlers(config: service.Config, clock: Clock) -> dict[str, Handler]:
    """The events notifications consumes: all pathway events, one handler."""

    async def on_pathway_event(delivery: Delivery) -> None:
        events = delivery.events(service.SOURCE, clock())
        uow = service.UnitOfWork(NotificationsRepository(delivery.connection), events, config)
        if delivery.envelope.type in ENQUIRY_ENDED:
            await service.cancel_for_ended_enquiry(uow, delivery.envelope.subject, reason=delivery.envelope.type)
        await service.route_event(uow, delivery.envelope, delivery.payload)

    return dict.fromkeys(sorted(CONSUMED), on_pathway_event)
