"""Notifications' Kafka subscriber: every pathway event is routed to the staff who need to know."""

from __future__ import annotations

from clinicflow.notifications import service
from clinicflow.notifications.repository import NotificationsRepository
from clinicflow.shared.catalogue import CATALOGUE
from clinicflow.shared.consumer import Delivery, Handler
from clinicflow.shared.runtime import Clock

# Every event of the pathway's services; its own audit events and the raw web form are not for staff.
CONSUMED = [t for t, spec in CATALOGUE.items() if spec.producer in ("intake", "screening", "sessions")]


def build_handlers(config: service.Config, clock: Clock) -> dict[str, Handler]:
    """The events notifications consumes: all pathway events, one handler."""

    async def on_pathway_event(delivery: Delivery) -> None:
        events = delivery.events(service.SOURCE, clock())
        uow = service.UnitOfWork(NotificationsRepository(delivery.connection), events, config)
        await service.route_event(uow, delivery.envelope, delivery.payload)

    return dict.fromkeys(CONSUMED, on_pathway_event)
