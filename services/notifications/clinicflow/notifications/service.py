"""Notifications' use cases: route an event to deliveries, dispatch them over their channels, escalate urgent alerts
along the on-call rota, keep the rota, and take acknowledgements (inbox or one-time link).

Routing, acknowledgement and rota changes each run in one unit of work with the events they cause. Dispatch and
escalation open their own short units of work: nothing is sent while a transaction is open, and each delivery's
outcome is recorded on its own, so one failure never rolls back or repeats another's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from pydantic import BaseModel

from clinicflow.notifications.acklinks import AckLinks, InvalidAckLink
from clinicflow.notifications.channels import Channel, Outcome, Outgoing, PermanentFailure, TransientFailure
from clinicflow.notifications.domain import Alert, Delivery, RetryPolicy, Shift, escalation_chain, next_escalation
from clinicflow.notifications.repository import NotificationsRepository
from clinicflow.notifications.routing import Directory, Routing, plan, reachable
from clinicflow.notifications.templates import Content, render
from clinicflow.shared import catalogue
from clinicflow.shared.auth import Staff
from clinicflow.shared.envelope import Envelope
from clinicflow.shared.errors import DomainError, IllegalMove, InvalidField, NotFound
from clinicflow.shared.outbox import EventWriter

SOURCE = "clinicflow/notifications"
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Config:
    """What routing and delivery depend on."""

    routing: Routing
    directory: Directory
    channels: Mapping[str, Channel]  # the enabled ones besides the inbox
    retry: RetryPolicy
    staff_portal_url: str
    ack_links: AckLinks | None = None  # chat and SMS alerts carry an acknowledgement link when set
    send_lease: timedelta = timedelta(seconds=60)  # longer than any channel's timeout

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


OpenUnitOfWork = Callable[[], AbstractAsyncContextManager[UnitOfWork]]


async def route_event(uow: UnitOfWork, envelope: Envelope, payload: BaseModel) -> int:
    """Turn an event into deliveries (once per event, recipient and channel); urgent ones open an alert.

    Only the validated payload's declared fields are used, so anything extra a producer slipped in is never sent.
    """
    config = uow.config
    data = payload.model_dump(mode="json")
    chains = {role: await _escalation_chain(uow, role) for role in config.routing.on_call_roles(envelope.type)}
    planned_deliveries = plan(envelope.type, data, routing=config.routing, directory=config.directory,
                              enabled=config.enabled, on_call=chains)
    if not planned_deliveries:  # this clinic routes the event to nobody (its routing file has no rule for it)
        return 0
    # Every routed event has a template: the routing file is refused at start otherwise (configfiles.py).
    content = render(envelope.type, data, pathway_id=str(envelope.subject), staff_portal_url=config.staff_portal_url)
    created = 0
    for planned in planned_deliveries:
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


async def cancel_for_ended_enquiry(uow: UnitOfWork, pathway_id: uuid.UUID, *, reason: str) -> int:
    """A closed or erased enquiry needs no more routine reminders; urgent safety alerts still go out."""
    return await uow.notifications.cancel_routine(pathway_id=pathway_id, reason=reason)


async def _add(uow: UnitOfWork, delivery: Delivery) -> bool:
    """Store a delivery; the inbox is delivered at once, in the same transaction; a channel's dispatcher is woken."""
    now = uow.events.now
    if delivery.channel == "inbox" and delivery.next_attempt_at <= now:
        if not await uow.notifications.deliver_to_inbox(delivery=delivery, now=now):
            return False
        await _announce_sent(uow, delivery, attempts=1)
        return True
    if not await uow.notifications.add_delivery(delivery=delivery, now=now):
        return False
    if delivery.next_attempt_at <= now:
        await uow.notifications.announce_due(priority=delivery.priority)
    return True


async def _sent(uow: UnitOfWork, delivery: Delivery, *, attempts: int) -> None:
    if await uow.notifications.mark_sent(delivery_id=delivery.id, attempts=attempts, at=uow.events.now):
        await _announce_sent(uow, delivery, attempts=attempts)


async def _announce_sent(uow: UnitOfWork, delivery: Delivery, *, attempts: int) -> None:
    await uow.events.emit(delivery.pathway_id, catalogue.NotificationSent(
        notification_id=delivery.id, source_event_id=delivery.event_id, channel=delivery.channel,
        recipient_role=delivery.recipient_role, attempt_count=attempts,
    ))


async def dispatch_due(open_uow: OpenUnitOfWork, *, urgent: bool, limit: int = 50) -> int:
    """Send the deliveries of one priority whose time has come; returns how many were claimed.

    Urgent and routine deliveries are dispatched by separate loops, so a queue of routine email never holds an alert
    back. The claim commits at once (a lease); each channel gets its messages at once, all channels together, and as
    soon as a channel answers its outcomes are recorded in one transaction (a slow mail server never delays the
    record of a chat message), or, if that fails, each in a transaction of its own, so one failure never rolls back
    another's record (hazard H-001). A delivery whose outcome could not be recorded is sent again when its lease
    ends, under the same idempotency handle, so the receiver can tell.
    """
    async with open_uow() as uow:
        now, config = uow.events.now, uow.config
        due = await uow.notifications.claim_due(now=now, lease_until=now + config.send_lease, limit=limit,
                                                urgent=urgent)
    known, sends = _plan_sends(config, due, now)

    async def send_then_record(channel: str, batch: list[tuple[Delivery, Outgoing]]) -> None:
        results = await _send_over(config.channels[channel], [message for _, message in batch])
        await _record_all(open_uow, [(delivery, outcome) for (delivery, _), outcome in
                                     zip(batch, results, strict=True)])

    passes = [send_then_record(channel, batch) for channel, batch in sends.items()]
    await asyncio.gather(*passes, _record_all(open_uow, known))
    return len(due)


def _plan_sends(config: Config, due: list[Delivery], now: datetime
                ) -> tuple[list[tuple[Delivery, Outcome]], dict[str, list[tuple[Delivery, Outgoing]]]]:
    """The outcomes known without sending (the inbox; a channel or person no longer there) and, per channel, the
    messages to send."""
    known: list[tuple[Delivery, Outcome]] = []
    sends: dict[str, list[tuple[Delivery, Outgoing]]] = {}
    for delivery in due:
        channel = config.channels.get(delivery.channel)
        recipient = config.directory.staff.get(delivery.recipient_id)
        if delivery.channel == "inbox":  # lands in the inbox table when recorded
            known.append((delivery, None))
        elif channel is None or recipient is None:
            known.append((delivery, PermanentFailure("channel_or_recipient_unavailable")))
        else:
            ack_link = None
            if config.ack_links and delivery.alert_id and delivery.channel in ("chat", "sms"):
                ack_link = config.ack_links.link(delivery.id, now=now)
            content = Content(delivery.title, delivery.body, delivery.link)
            sends.setdefault(delivery.channel, []).append(
                (delivery, Outgoing(delivery.id, recipient, content, delivery.priority, ack_link)))
    return known, sends


async def _record_all(open_uow: OpenUnitOfWork, outcomes: list[tuple[Delivery, Outcome]]) -> None:
    """Record outcomes in one transaction; if it fails, each in its own (H-001)."""
    if not outcomes:
        return
    try:
        async with open_uow() as uow:
            for delivery, outcome in outcomes:
                await _record(uow, delivery, outcome)
    except Exception as exc:  # one record spoiled the transaction: record each on its own
        log.warning("recording a dispatch pass failed; recording each outcome alone", error=type(exc).__name__)
        for delivery, outcome in outcomes:
            try:
                async with open_uow() as uow:
                    await _record(uow, delivery, outcome)
            except Exception as failure:
                log.warning("a delivery's outcome was not recorded; it goes again when its lease ends",
                            error=type(failure).__name__)


async def _send_over(channel: Channel, messages: list[Outgoing]) -> list[Outcome]:
    try:
        return await channel.send_all(messages)
    except Exception as exc:  # a defect in one channel must not stop the others: retry it like an outage
        log.warning("channel raised an unexpected error", error=type(exc).__name__)
        return [TransientFailure(type(exc).__name__)] * len(messages)


async def _record(uow: UnitOfWork, delivery: Delivery, failure: Outcome) -> None:
    attempts = delivery.attempts + 1
    if failure is None:
        if delivery.channel == "inbox":  # a reminder scheduled for later lands in the inbox now
            await uow.notifications.add_inbox_item(delivery=delivery, now=uow.events.now)
        await _sent(uow, delivery, attempts=attempts)
        return
    permanent = isinstance(failure, PermanentFailure)
    retry_at = None if permanent else uow.config.retry.after_failure(attempts, uow.events.now)
    if retry_at is not None:
        await uow.notifications.mark_retry(delivery_id=delivery.id, attempts=attempts, at=retry_at,
                                           error=str(failure))
    elif await uow.notifications.mark_failed(delivery_id=delivery.id, attempts=attempts, error=str(failure)):
        await uow.events.emit(delivery.pathway_id, catalogue.NotificationFailed(
            notification_id=delivery.id, source_event_id=delivery.event_id, channel=delivery.channel,
            recipient_role=delivery.recipient_role, attempt_count=attempts, reason=str(failure),
        ))


async def escalate_due(open_uow: OpenUnitOfWork, *, limit: int = 20) -> int:
    """Urgent alerts nobody acknowledged in time go to the next person on the rota, then the clinical lead, and
    round again until acknowledged; each alert in its own transaction. Returns how many escalated."""
    escalated = 0
    while escalated < limit:
        async with open_uow() as uow:
            alert = await uow.notifications.claim_alert_to_escalate(now=uow.events.now)
            if alert is None:
                break
            await _escalate(uow, alert)
        escalated += 1
    return escalated


async def _escalate(uow: UnitOfWork, alert: Alert) -> None:
    after = timedelta(minutes=uow.config.routing.escalate_after_minutes)
    chain = await _escalation_chain(uow, alert.on_call_role)
    step = next_escalation(chain, alert.level, now=uow.events.now, after=after)
    await uow.notifications.escalate(alert_id=alert.alert_id, level=step.level, recipient=step.recipient,
                                     escalate_at=step.escalate_at)
    member = uow.config.directory.staff[step.recipient]
    for channel in sorted(c for c in uow.config.enabled if reachable(member, c)):
        await _add(uow, Delivery(
            id=uuid.uuid4(), event_id=alert.event_id, event_type=alert.event_type, pathway_id=alert.pathway_id,
            recipient_id=member.id, recipient_role=member.roles[0], channel=channel, priority="urgent",
            title=f"ESCALATED: {alert.title}", body=alert.body, link=alert.link, alert_id=alert.alert_id,
            next_attempt_at=uow.events.now, escalation_level=step.level,
        ))


async def _escalation_chain(uow: UnitOfWork, role: str) -> tuple[str, ...]:
    """Who is on call for ``role`` now (the rota; the directory file's order until the role has shifts), reachable
    people only, then the clinical lead."""
    directory = uow.config.directory
    on_call = await uow.notifications.on_call(role=role, at=uow.events.now)
    if on_call is None:
        on_call = directory.on_call.get(role, ())
    return escalation_chain(tuple(s for s in on_call if s in directory.staff), directory.clinical_lead)


async def acknowledge(uow: UnitOfWork, item_id: uuid.UUID, *, staff: Staff) -> None:
    """Acknowledge an inbox item; for an urgent alert this stops its escalation → `alert.acknowledged`."""
    item = await uow.notifications.inbox_item(item_id=item_id)
    if item.recipient_id != staff.id:
        raise NotFound("no inbox item with that id")  # another person's item: not even its existence is shown
    await uow.notifications.acknowledge_item(item_id=item_id, at=uow.events.now)
    if item.alert_id:
        await _acknowledge_alert(uow, item.alert_id, item.pathway_id, by=staff.id)


class LinkRefused(DomainError):
    """An acknowledgement link that is forged, expired or names nothing acknowledgeable."""

    status_code = 410


async def acknowledge_by_link(uow: UnitOfWork, token: str) -> None:
    """Acknowledge an alert from the one-time link its chat or SMS message carried, as the person it was sent to."""
    links = uow.config.ack_links
    if links is None:
        raise LinkRefused("acknowledgement links are not enabled")
    try:
        delivery_id = links.read(token, now=uow.events.now)
        delivery = await uow.notifications.delivery(delivery_id=delivery_id)
    except (InvalidAckLink, NotFound):
        raise LinkRefused("this acknowledgement link is not valid or has expired") from None
    if delivery.alert_id is None:
        raise LinkRefused("this acknowledgement link is not valid or has expired")
    if not await uow.notifications.use_ack_link(delivery_id=delivery.id, at=uow.events.now):
        raise IllegalMove("this acknowledgement link has already been used")
    await uow.notifications.acknowledge_items_of_alert(alert_id=delivery.alert_id, recipient_id=delivery.recipient_id,
                                                       at=uow.events.now)
    await _acknowledge_alert(uow, delivery.alert_id, delivery.pathway_id, by=delivery.recipient_id)


async def _acknowledge_alert(uow: UnitOfWork, alert_id: uuid.UUID, pathway_id: uuid.UUID, *, by: str) -> None:
    if await uow.notifications.acknowledge_alert(alert_id=alert_id, by=by, at=uow.events.now):
        await uow.events.emit(pathway_id, catalogue.AlertAcknowledged(
            alert_id=alert_id, acknowledged_by=by,
        ))


@dataclass(frozen=True)
class ShiftRequest:
    """An admin's request to put someone on call."""

    role: str
    staff_id: str
    position: int
    starts_at: datetime
    ends_at: datetime | None


async def add_shift(uow: UnitOfWork, request: ShiftRequest, *, by: str) -> Shift:
    """Put a member of staff on the rota for a role they hold; effective at once."""
    member = uow.config.directory.staff.get(request.staff_id)
    if member is None:
        raise InvalidField("staff_id", "unknown_staff", "no member of staff with that id in the directory")
    if request.role not in member.roles:
        raise InvalidField("role", "role_not_held", f"{request.staff_id} does not hold the role {request.role}")
    if request.ends_at is not None and request.ends_at <= request.starts_at:
        raise InvalidField("ends_at", "before_start", "a shift must end after it starts")
    shift = Shift(id=uuid.uuid4(), role=request.role, staff_id=request.staff_id, position=request.position,
                  starts_at=request.starts_at, ends_at=request.ends_at, created_by=by)
    await uow.notifications.add_shift(shift=shift, now=uow.events.now)
    return shift


async def remove_shift(uow: UnitOfWork, shift_id: uuid.UUID, *, by: str) -> None:
    """Take a shift off the rota (kept for the record)."""
    await uow.notifications.remove_shift(shift_id=shift_id, by=by, at=uow.events.now)


async def on_call_now(uow: UnitOfWork, role: str) -> tuple[str, ...]:
    """Who an urgent alert for ``role`` would go to now, in order (the clinical lead last)."""
    return await _escalation_chain(uow, role)
