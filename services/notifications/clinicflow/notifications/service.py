"""Notifications' use cases: route an event to deliveries, dispatch them over their channels, escalate urgent alerts,
and take acknowledgements. Each runs in one unit of work with the audit events it causes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from pydantic import BaseModel

from clinicflow.notifications.channels import Channel, Outgoing, PermanentFailure, TransientFailure
from clinicflow.notifications.domain import Delivery, RetryPolicy, next_escalation
from clinicflow.notifications.repository import NotificationsRepository
from clinicflow.notifications.routing import Directory, Routing, plan, reachable
from clinicflow.notifications.templates import TEMPLATES, Content, render
from clinicflow.shared import catalogue
from clinicflow.shared.auth import Staff
from clinicflow.shared.envelope import Envelope
from clinicflow.shared.errors import NotFound
from clinicflow.shared.outbox import EventWriter

SOURCE = "clinicflow/notifications"


@dataclass(frozen=True)
class Config:
    """What routing and delivery depend on."""

    routing: Routing
    directory: Directory
    channels: Mapping[str, Channel]  # the enabled ones besides the inbox
    retry: RetryPolicy
    staff_portal_url: str

    @property
    def enabled(self) -> frozenset[str]:
        """Channels that can be used now."""
        return frozenset({"inbox", *self.channels})


@dataclass(frozen=True)
class UnitOfWork:
    """One transaction's view of notifications."""

    notifications: NotificationsRepository
    events: EventWriter
    config: Config


async def route_event(uow: UnitOfWork, envelope: Envelope, payload: BaseModel) -> int:
    """Turn an event into deliveries (once per event, recipient and channel); urgent ones open an alert.

    Only the validated payload's declared fields are used, so anything extra a producer slipped in is never sent.
    """
    if envelope.type not in TEMPLATES:
        return 0
    config = uow.config
    data = payload.model_dump(mode="json")
    content = render(envelope.type, data, pathway_id=str(envelope.subject), staff_portal_url=config.staff_portal_url)
    created = 0
    for planned in plan(envelope.type, data, routing=config.routing, directory=config.directory,
                        enabled=config.enabled):
        delivery = Delivery(
            id=uuid.uuid4(), event_id=envelope.id, event_type=envelope.type, pathway_id=envelope.subject,
            recipient_id=planned.recipient_id, recipient_role=planned.recipient_role, channel=planned.channel,
            priority=planned.priority, title=content.title, body=content.body, link=content.link,
            alert_id=uuid.UUID(data["alert_id"]) if planned.escalates else None,
            next_attempt_at=planned.send_at or uow.events.now,
        )
        if await _add(uow, delivery):
            created += 1
            if planned.escalates:
                after = timedelta(minutes=config.routing.escalate_after_minutes)
                await uow.notifications.add_alert(delivery=delivery, on_call_role=planned.recipient_role,
                                                  escalate_at=uow.events.now + after, now=uow.events.now)
    return created


async def _add(uow: UnitOfWork, delivery: Delivery) -> bool:
    """Store a delivery; the inbox is delivered at once, in the same transaction."""
    if not await uow.notifications.add_delivery(delivery=delivery, now=uow.events.now):
        return False
    if delivery.channel == "inbox" and delivery.next_attempt_at <= uow.events.now:
        await uow.notifications.add_inbox_item(delivery=delivery, now=uow.events.now)
        await _sent(uow, delivery, attempts=1)
    return True


async def _sent(uow: UnitOfWork, delivery: Delivery, *, attempts: int) -> None:
    await uow.notifications.mark_sent(delivery_id=delivery.id, attempts=attempts, at=uow.events.now)
    await uow.events.emit("notification.sent", delivery.pathway_id, catalogue.NotificationSent(
        notification_id=delivery.id, source_event_id=delivery.event_id, channel=delivery.channel,
        recipient_role=delivery.recipient_role, attempt_count=attempts,
    ))


async def dispatch_due(uow: UnitOfWork, *, limit: int = 20) -> int:
    """Send the deliveries whose time has come; retry with backoff, give up after the configured attempts."""
    due = await uow.notifications.claim_due(now=uow.events.now, limit=limit)
    outcomes = await asyncio.gather(*(_try(uow, d) for d in due))
    for delivery, failure in zip(due, outcomes, strict=True):
        attempts = delivery.attempts + 1
        if failure is None:
            await _sent(uow, delivery, attempts=attempts)
            continue
        retry_at = None if isinstance(failure, PermanentFailure) else uow.config.retry.after_failure(attempts, uow.events.now)
        if retry_at is not None:
            await uow.notifications.mark_retry(delivery_id=delivery.id, attempts=attempts, at=retry_at,
                                               error=str(failure))
            continue
        await uow.notifications.mark_failed(delivery_id=delivery.id, attempts=attempts, error=str(failure))
        await uow.events.emit("notification.failed", delivery.pathway_id, catalogue.NotificationFailed(
            notification_id=delivery.id, source_event_id=delivery.event_id, channel=delivery.channel,
            recipient_role=delivery.recipient_role, attempt_count=attempts, reason=str(failure),
        ))
    return len(due)


async def _try(uow: UnitOfWork, delivery: Delivery) -> Exception | None:
    if delivery.channel == "inbox":  # a reminder scheduled for later lands in the inbox now
        await uow.notifications.add_inbox_item(delivery=delivery, now=uow.events.now)
        return None
    channel = uow.config.channels.get(delivery.channel)
    recipient = uow.config.directory.staff.get(delivery.recipient_id)
    if channel is None or recipient is None:
        return PermanentFailure("channel_or_recipient_unavailable")
    try:
        content = Content(delivery.title, delivery.body, delivery.link)
        await channel.send(Outgoing(delivery.id, recipient, content, delivery.priority))
    except (TransientFailure, PermanentFailure) as failure:
        return failure
    return None


async def escalate_due(uow: UnitOfWork, *, limit: int = 20) -> int:
    """Urgent alerts nobody acknowledged in time go to the next person on the rota, then the clinical lead."""
    after = timedelta(minutes=uow.config.routing.escalate_after_minutes)
    alerts = await uow.notifications.claim_alerts_to_escalate(now=uow.events.now, limit=limit)
    for alert in alerts:
        chain = uow.config.directory.escalation_chain(alert["on_call_role"])
        step = next_escalation(chain, alert["level"], now=uow.events.now, after=after)
        if step.recipient is None:  # nobody left to escalate to: the alert stays open, its timer stops
            await uow.notifications.escalate(alert_id=alert["alert_id"], level=alert["level"],
                                             recipient=alert["current_recipient"], escalate_at=None)
            continue
        await uow.notifications.escalate(alert_id=alert["alert_id"], level=step.level, recipient=step.recipient,
                                         escalate_at=step.escalate_at)
        member = uow.config.directory.staff[step.recipient]
        for channel in sorted(c for c in uow.config.enabled if reachable(member, c)):
            await _add(uow, Delivery(
                id=uuid.uuid4(), event_id=alert["event_id"], event_type=alert["event_type"],
                pathway_id=alert["pathway_id"], recipient_id=member.id, recipient_role=member.roles[0],
                channel=channel, priority="urgent", title=f"ESCALATED: {alert['title']}", body=alert["body"],
                link=alert["link"], alert_id=alert["alert_id"], next_attempt_at=uow.events.now,
            ))
    return len(alerts)


async def acknowledge(uow: UnitOfWork, item_id: uuid.UUID, *, staff: Staff) -> None:
    """Acknowledge an inbox item; for an urgent alert this stops its escalation → `alert.acknowledged`."""
    item = await uow.notifications.inbox_item(item_id=item_id)
    if item["recipient_id"] != staff.id:
        raise NotFound("no inbox item with that id")  # another person's item: not even its existence is shown
    await uow.notifications.acknowledge_item(item_id=item_id, at=uow.events.now)
    if item["alert_id"] and await uow.notifications.acknowledge_alert(alert_id=item["alert_id"], by=staff.id,
                                                                      at=uow.events.now):
        await uow.events.emit("alert.acknowledged", item["pathway_id"], catalogue.AlertAcknowledged(
            alert_id=item["alert_id"], acknowledged_by=staff.id,
        ))

