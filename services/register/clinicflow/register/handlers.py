"""The register's Kafka subscriber: every dose sessions gives becomes an administration entry, exactly once."""

from __future__ import annotations

from clinicflow.register.repository import RegisterRepository
from clinicflow.register.rules import RegisterRules
from clinicflow.register.service import SOURCE, UnitOfWork, enter_administration
from clinicflow.shared.consumer import Delivery, Handler
from clinicflow.shared.runtime import Clock


def build_handlers(rules: RegisterRules, clock: Clock) -> dict[str, Handler]:
    """The events the register consumes, with their handlers."""

    async def on_dose_administered(delivery: Delivery) -> None:
        uow = UnitOfWork(RegisterRepository(delivery.connection), delivery.events(SOURCE, clock()), rules)
        await enter_administration(uow, delivery.envelope.subject, delivery.payload)

    return {"session.dose.administered": on_dose_administered}
