"""The dispatcher's pass in memory: every channel gets what is due for it at once, and a pass whose recording fails
still records every outcome it can, each on its own (hazard H-001). The real SMTP, webhook and database path is in
tests/integration/test_notifications.py and test_alerting.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from clinicflow.notifications import service
from clinicflow.notifications.channels import Outcome, Outgoing
from clinicflow.notifications.domain import Delivery, RetryPolicy
from clinicflow.notifications.routing import Directory, Routing, StaffMember

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def email(n: int) -> Delivery:
    return Delivery(id=uuid.UUID(int=n), event_id=uuid.uuid4(), event_type="enquiry.received", pathway_id=uuid.uuid4(),
                    recipient_id="cc-1", recipient_role="contact_centre", channel="email", priority="routine",
                    title="New enquiry", body="Call back", link="https://portal.example/pathways/x", alert_id=None,
                    next_attempt_at=NOW)


@dataclass
class Deliveries:
    """The deliveries table: what committed transactions left, and one delivery whose record always fails."""

    due: list[Delivery]
    sent: set[uuid.UUID] = field(default_factory=set)
    breaks_on: uuid.UUID | None = None


@dataclass
class Transaction:
    """One unit of work's writes, kept only if it commits."""

    table: Deliveries
    sent: set[uuid.UUID] = field(default_factory=set)

    async def claim_due(self, *, now: datetime, lease_until: datetime, limit: int, urgent: bool) -> list[Delivery]:
        return [d for d in self.table.due if (d.priority == "urgent") == urgent][:limit]

    async def mark_sent(self, *, delivery_id: uuid.UUID, attempts: int, at: datetime) -> bool:
        if delivery_id == self.table.breaks_on:
            raise RuntimeError("this row cannot be written")
        self.sent.add(delivery_id)
        return True


@dataclass
class Events:
    now: datetime
    emitted: list = field(default_factory=list)

    async def emit(self, pathway_id: uuid.UUID, payload: object) -> None:
        self.emitted.append(payload)


@dataclass
class Mailbox:
    """A channel that accepts everything and remembers each hand-over."""

    handovers: list[list[uuid.UUID]] = field(default_factory=list)

    async def send_all(self, messages: Sequence[Outgoing]) -> list[Outcome]:
        self.handovers.append([m.delivery_id for m in messages])
        return [None] * len(messages)


def opener(table: Deliveries, config: service.Config):  # noqa: ANN201 - the dispatcher's unit-of-work factory
    @asynccontextmanager
    async def open_unit_of_work() -> AsyncIterator[service.UnitOfWork]:
        transaction = Transaction(table)
        yield service.UnitOfWork(transaction, Events(NOW), config)  # type: ignore[arg-type]
        table.sent |= transaction.sent  # reached only when the block did not raise: commit

    return open_unit_of_work


def config_with(mailbox: Mailbox) -> service.Config:
    directory = Directory(staff={"cc-1": StaffMember("cc-1", ("contact_centre",), email="cc@clinic.example")},
                          on_call={}, clinical_lead="cc-1")
    routing = Routing(version="test", team_roles=(), escalate_after_minutes=5, max_attempts=3, rules=())
    return service.Config(routing=routing, directory=directory,
                          channels={"email": mailbox},
                          retry=RetryPolicy(max_attempts=3, first=timedelta(seconds=1), cap=timedelta(seconds=5)),
                          staff_portal_url="https://portal.example")


async def test_everything_due_for_a_channel_is_handed_over_at_once_and_recorded():
    mailbox = Mailbox()
    table = Deliveries(due=[email(1), email(2), email(3)])
    assert await service.dispatch_due(opener(table, config_with(mailbox)), urgent=False) == 3
    assert mailbox.handovers == [[uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)]]
    assert table.sent == {uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)}


async def test_one_record_that_fails_does_not_roll_back_the_others():
    mailbox = Mailbox()
    table = Deliveries(due=[email(1), email(2), email(3)], breaks_on=uuid.UUID(int=2))
    await service.dispatch_due(opener(table, config_with(mailbox)), urgent=False)
    assert table.sent == {uuid.UUID(int=1), uuid.UUID(int=3)}  # the second goes again when its lease ends

