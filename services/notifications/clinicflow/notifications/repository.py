"""Notifications' SQL: deliveries, the staff inbox, urgent alerts and the on-call rota, on the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from clinicflow.notifications.domain import Alert, Delivery, InboxEntry, Shift
from clinicflow.shared.errors import NotFound

_ADD_DELIVERY = """
INSERT INTO deliveries (id, event_id, event_type, pathway_id, recipient_id, recipient_role, channel, priority, title,
                        body, link, alert_id, status, next_attempt_at, created_at, escalation_level)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14, $15)
ON CONFLICT (event_id, recipient_id, channel, escalation_level) DO NOTHING RETURNING id"""
# A claim is a lease: the claimed rows are not due again until ``$2``, so the claiming transaction can commit at once
# and the sending happen outside it. A worker that dies mid-send leaves them to be sent again when the lease ends,
# with the same idempotency handle.
_CLAIM_DUE = """
UPDATE deliveries SET next_attempt_at = $2
WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1
               AND (priority = 'urgent') = $4
             ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
RETURNING *"""
# 'cancelled' too: a delivery cancelled while its send was under way was still sent, and the record says so.
_MARK_SENT = """
UPDATE deliveries SET status = 'sent', attempts = $2, sent_at = $3, last_error = NULL
WHERE id = $1 AND status IN ('pending', 'cancelled') RETURNING id"""
_MARK_RETRY = """
UPDATE deliveries SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1 AND status = 'pending'"""
_MARK_FAILED = """
UPDATE deliveries SET status = 'failed', attempts = $2, last_error = $3 WHERE id = $1 AND status = 'pending'
RETURNING id"""
_CANCEL_ROUTINE = """
UPDATE deliveries SET status = 'cancelled', last_error = $2
WHERE pathway_id = $1 AND status = 'pending' AND priority <> 'urgent'"""
# An inbox delivery due now is delivered as it is stored: the row (sent, first attempt) and the inbox item, once.
_DELIVER_TO_INBOX = """
WITH delivery AS (
    INSERT INTO deliveries (id, event_id, event_type, pathway_id, recipient_id, recipient_role, channel, priority,
                            title, body, link, alert_id, status, attempts, sent_at, next_attempt_at, created_at,
                            escalation_level)
    VALUES ($1, $2, $3, $4, $5, $6, 'inbox', $7, $8, $9, $10, $11, 'sent', 1, $12, $12, $12, $13)
    ON CONFLICT (event_id, recipient_id, channel, escalation_level) DO NOTHING RETURNING id
)
INSERT INTO inbox_items (id, recipient_id, priority, title, body, link, pathway_id, event_type, alert_id, created_at)
SELECT id, $5, $7, $8, $9, $10, $4, $3, $11, $12 FROM delivery
RETURNING id"""
_ADD_INBOX = """
INSERT INTO inbox_items (id, recipient_id, priority, title, body, link, pathway_id, event_type, alert_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING"""
_INBOX = """
SELECT * FROM inbox_items WHERE recipient_id = $1 AND ($2 OR acknowledged_at IS NULL)
ORDER BY priority = 'urgent' DESC, created_at DESC LIMIT 200"""
_INBOX_ITEM = "SELECT * FROM inbox_items WHERE id = $1 FOR UPDATE"
_ACK_ITEM = "UPDATE inbox_items SET acknowledged_at = $2 WHERE id = $1 AND acknowledged_at IS NULL"
_ACK_ITEMS_OF_ALERT = """
UPDATE inbox_items SET acknowledged_at = $3 WHERE alert_id = $1 AND recipient_id = $2 AND acknowledged_at IS NULL"""
_ADD_ALERT = """
INSERT INTO alerts (alert_id, event_id, event_type, pathway_id, on_call_role, level, current_recipient, title, body,
                    link, escalate_at, status, created_at)
VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, 'open', $11)
ON CONFLICT (alert_id) DO NOTHING"""
_CLAIM_ALERT = """
SELECT * FROM alerts WHERE status = 'open' AND escalate_at <= $1
ORDER BY escalate_at LIMIT 1 FOR UPDATE SKIP LOCKED"""
_ESCALATE = "UPDATE alerts SET level = $2, current_recipient = $3, escalate_at = $4 WHERE alert_id = $1"
_ACK_ALERT = """
UPDATE alerts SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3, escalate_at = NULL
WHERE alert_id = $1 AND status = 'open' RETURNING alert_id"""
_ALERTS = "SELECT * FROM alerts WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC LIMIT 500"
_DELIVERY = "SELECT * FROM deliveries WHERE id = $1"
_USE_ACK_LINK = "UPDATE deliveries SET ack_link_used_at = $2 WHERE id = $1 AND ack_link_used_at IS NULL RETURNING id"
_ADD_SHIFT = """
INSERT INTO on_call_shifts (id, role, staff_id, position, starts_at, ends_at, created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"""
_SHIFTS = """
SELECT * FROM on_call_shifts WHERE removed_at IS NULL AND ($1::text IS NULL OR role = $1)
  AND (ends_at IS NULL OR ends_at > $2) AND starts_at < $3
ORDER BY role, starts_at, position LIMIT 500"""
_ON_CALL = """
SELECT staff_id FROM on_call_shifts
WHERE role = $1 AND removed_at IS NULL AND starts_at <= $2 AND (ends_at IS NULL OR ends_at > $2)
ORDER BY position, starts_at"""
_ROLE_HAS_ROTA = "SELECT EXISTS (SELECT 1 FROM on_call_shifts WHERE role = $1)"
_REMOVE_SHIFT = """
UPDATE on_call_shifts SET removed_by = $2, removed_at = $3 WHERE id = $1 AND removed_at IS NULL RETURNING id"""


def deliveries_due_channel(schema: str, priority: str) -> str:
    """The LISTEN/NOTIFY channel that wakes the dispatcher of one priority (urgent or routine)."""
    return f"{schema}_{'urgent' if priority == 'urgent' else 'routine'}_deliveries"


_ANNOUNCE_DUE = "SELECT pg_notify(current_schema() || '_' || $1 || '_deliveries', '')"


class NotificationsRepository:
    """Notifications' tables, read and written on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add_delivery(self, *, delivery: Delivery, now: datetime) -> bool:
        """Store a delivery; False when this event already went to this person over this channel at this level."""
        d = delivery
        return await self._conn.fetchval(
            _ADD_DELIVERY, d.id, d.event_id, d.event_type, d.pathway_id, d.recipient_id, d.recipient_role, d.channel,
            d.priority, d.title, d.body, d.link, d.alert_id, d.next_attempt_at, now, d.escalation_level,
        ) is not None

    async def deliver_to_inbox(self, *, delivery: Delivery, now: datetime) -> bool:
        """Store an inbox delivery as sent and put it in its recipient's inbox, in one statement; False when this
        event already reached this person's inbox at this level."""
        d = delivery
        return await self._conn.fetchval(
            _DELIVER_TO_INBOX, d.id, d.event_id, d.event_type, d.pathway_id, d.recipient_id, d.recipient_role,
            d.priority, d.title, d.body, d.link, d.alert_id, now, d.escalation_level,
        ) is not None

    async def announce_due(self, *, priority: str) -> None:
        """Wake the dispatchers of this priority when the transaction commits (deliveries_due_channel)."""
        await self._conn.execute(_ANNOUNCE_DUE, "urgent" if priority == "urgent" else "routine")

    async def claim_due(self, *, now: datetime, lease_until: datetime, limit: int, urgent: bool) -> list[Delivery]:
        """Pending urgent (or routine) deliveries whose time has come, oldest first, leased until ``lease_until``."""
        claimed = [_delivery(r) for r in await self._conn.fetch(_CLAIM_DUE, now, lease_until, limit, urgent)]
        return sorted(claimed, key=lambda d: d.next_attempt_at)

    async def mark_sent(self, *, delivery_id: uuid.UUID, attempts: int, at: datetime) -> bool:
        """The channel accepted it; False when it was already recorded as sent or failed."""
        return await self._conn.fetchval(_MARK_SENT, delivery_id, attempts, at) is not None

    async def mark_retry(self, *, delivery_id: uuid.UUID, attempts: int, at: datetime, error: str) -> None:
        """Try again at ``at``."""
        await self._conn.execute(_MARK_RETRY, delivery_id, attempts, at, error)

    async def mark_failed(self, *, delivery_id: uuid.UUID, attempts: int, error: str) -> bool:
        """Give up on it; False when it was no longer pending."""
        return await self._conn.fetchval(_MARK_FAILED, delivery_id, attempts, error) is not None

    async def cancel_routine(self, *, pathway_id: uuid.UUID, reason: str) -> int:
        """Cancel what is still pending for a pathway, except urgent safety alerts; returns how many."""
        return int((await self._conn.execute(_CANCEL_ROUTINE, pathway_id, reason)).split()[-1])

    async def delivery(self, *, delivery_id: uuid.UUID) -> Delivery:
        """One delivery; NotFound otherwise."""
        row = await self._conn.fetchrow(_DELIVERY, delivery_id)
        if row is None:
            raise NotFound("no such delivery")
        return _delivery(row)

    async def use_ack_link(self, *, delivery_id: uuid.UUID, at: datetime) -> bool:
        """Spend a delivery's acknowledgement link; False when it was already used."""
        return await self._conn.fetchval(_USE_ACK_LINK, delivery_id, at) is not None

    async def add_inbox_item(self, *, delivery: Delivery, now: datetime) -> None:
        """Put a delivery in its recipient's inbox (once)."""
        d = delivery
        await self._conn.execute(_ADD_INBOX, d.id, d.recipient_id, d.priority, d.title, d.body, d.link, d.pathway_id,
                                 d.event_type, d.alert_id, now)

    async def inbox(self, *, recipient_id: str, include_acknowledged: bool) -> list[InboxEntry]:
        """A person's inbox, urgent first, newest first."""
        return [_inbox_entry(r) for r in await self._conn.fetch(_INBOX, recipient_id, include_acknowledged)]

    async def inbox_item(self, *, item_id: uuid.UUID) -> InboxEntry:
        """One inbox item (locked); NotFound otherwise."""
        row = await self._conn.fetchrow(_INBOX_ITEM, item_id)
        if row is None:
            raise NotFound("no inbox item with that id")
        return _inbox_entry(row)

    async def acknowledge_item(self, *, item_id: uuid.UUID, at: datetime) -> None:
        """Mark an inbox item acknowledged (once)."""
        await self._conn.execute(_ACK_ITEM, item_id, at)

    async def acknowledge_items_of_alert(self, *, alert_id: uuid.UUID, recipient_id: str, at: datetime) -> None:
        """Mark every inbox item of one alert acknowledged for one person."""
        await self._conn.execute(_ACK_ITEMS_OF_ALERT, alert_id, recipient_id, at)

    async def add_alert(self, *, delivery: Delivery, on_call_role: str, escalate_at: datetime | None,
                        now: datetime) -> None:
        """Open an urgent alert with its escalation timer (once per alert id)."""
        d = delivery
        await self._conn.execute(_ADD_ALERT, d.alert_id, d.event_id, d.event_type, d.pathway_id, on_call_role,
                                 d.recipient_id, d.title, d.body, d.link, escalate_at, now)

    async def claim_alert_to_escalate(self, *, now: datetime) -> Alert | None:
        """The open alert whose escalation time came first (locked for this transaction), if any."""
        row = await self._conn.fetchrow(_CLAIM_ALERT, now)
        return _alert(row) if row else None

    async def escalate(self, *, alert_id: uuid.UUID, level: int, recipient: str, escalate_at: datetime | None) -> None:
        """Record that an alert moved on to ``recipient``."""
        await self._conn.execute(_ESCALATE, alert_id, level, recipient, escalate_at)

    async def acknowledge_alert(self, *, alert_id: uuid.UUID, by: str, at: datetime) -> bool:
        """Stop an alert's escalation; False when it was already acknowledged."""
        return await self._conn.fetchval(_ACK_ALERT, alert_id, by, at) is not None

    async def alerts(self, *, status: str | None) -> list[Alert]:
        """Alerts, newest first."""
        return [_alert(r) for r in await self._conn.fetch(_ALERTS, status)]

    async def add_shift(self, *, shift: Shift, now: datetime) -> None:
        """Put someone on the rota."""
        s = shift
        await self._conn.execute(_ADD_SHIFT, s.id, s.role, s.staff_id, s.position, s.starts_at, s.ends_at,
                                 s.created_by, now)

    async def shifts(self, *, role: str | None, start: datetime, end: datetime) -> list[Shift]:
        """Shifts that overlap [start, end), by role and start."""
        return [_shift(r) for r in await self._conn.fetch(_SHIFTS, role, start, end)]

    async def on_call(self, *, role: str, at: datetime) -> tuple[str, ...] | None:
        """Who is on call for ``role`` at ``at``, in fallback order; None when the role has never had a shift."""
        if not await self._conn.fetchval(_ROLE_HAS_ROTA, role):
            return None
        return tuple(r["staff_id"] for r in await self._conn.fetch(_ON_CALL, role, at))

    async def remove_shift(self, *, shift_id: uuid.UUID, by: str, at: datetime) -> None:
        """Take a shift off the rota (kept for the record); NotFound when there is no such live shift."""
        if await self._conn.fetchval(_REMOVE_SHIFT, shift_id, by, at) is None:
            raise NotFound("no such shift on the rota")


def _delivery(r: asyncpg.Record) -> Delivery:
    return Delivery(
        id=r["id"], event_id=r["event_id"], event_type=r["event_type"], pathway_id=r["pathway_id"],
        recipient_id=r["recipient_id"], recipient_role=r["recipient_role"], channel=r["channel"],
        priority=r["priority"], title=r["title"], body=r["body"], link=r["link"], alert_id=r["alert_id"],
        next_attempt_at=r["next_attempt_at"], attempts=r["attempts"], escalation_level=r["escalation_level"],
    )


def _inbox_entry(r: asyncpg.Record) -> InboxEntry:
    return InboxEntry(**{k: r[k] for k in InboxEntry.__dataclass_fields__})


def _alert(r: asyncpg.Record) -> Alert:
    return Alert(**{k: r[k] for k in Alert.__dataclass_fields__})


def _shift(r: asyncpg.Record) -> Shift:
    return Shift(**{k: r[k] for k in Shift.__dataclass_fields__})
