"""Notifications' SQL: deliveries, the staff inbox and urgent alerts, on the caller's transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from clinicflow.notifications.domain import Delivery
from clinicflow.shared.errors import NotFound

_ADD_DELIVERY = """
INSERT INTO deliveries (id, event_id, event_type, pathway_id, recipient_id, recipient_role, channel, priority, title,
                        body, link, alert_id, status, next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14)
ON CONFLICT (event_id, recipient_id, channel) DO NOTHING RETURNING id"""
# Locked until the dispatching transaction ends, so no two dispatchers send the same delivery at once.
_CLAIM_DUE = """
SELECT * FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1
ORDER BY priority = 'urgent' DESC, next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED"""
_MARK_SENT = "UPDATE deliveries SET status = 'sent', attempts = $2, sent_at = $3, last_error = NULL WHERE id = $1"
_MARK_RETRY = "UPDATE deliveries SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1"
_MARK_FAILED = "UPDATE deliveries SET status = 'failed', attempts = $2, last_error = $3 WHERE id = $1"
_ADD_INBOX = """
INSERT INTO inbox_items (id, recipient_id, priority, title, body, link, pathway_id, event_type, alert_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"""
_INBOX = """
SELECT * FROM inbox_items WHERE recipient_id = $1 AND ($2 OR acknowledged_at IS NULL)
ORDER BY priority = 'urgent' DESC, created_at DESC LIMIT 200"""
_INBOX_ITEM = "SELECT * FROM inbox_items WHERE id = $1 FOR UPDATE"
_ACK_ITEM = "UPDATE inbox_items SET acknowledged_at = $2 WHERE id = $1 AND acknowledged_at IS NULL"
_ADD_ALERT = """
INSERT INTO alerts (alert_id, event_id, event_type, pathway_id, on_call_role, level, current_recipient, title, body,
                    link, escalate_at, status, created_at)
VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, 'open', $11)
ON CONFLICT (alert_id) DO NOTHING"""
_CLAIM_ALERTS = """
SELECT * FROM alerts WHERE status = 'open' AND escalate_at <= $1
ORDER BY escalate_at LIMIT $2 FOR UPDATE SKIP LOCKED"""
_ESCALATE = "UPDATE alerts SET level = $2, current_recipient = $3, escalate_at = $4 WHERE alert_id = $1"
_ACK_ALERT = """
UPDATE alerts SET status = 'acknowledged', acknowledged_by = $2, acknowledged_at = $3, escalate_at = NULL
WHERE alert_id = $1 AND status = 'open' RETURNING alert_id"""
_ALERTS = "SELECT * FROM alerts WHERE ($1::text IS NULL OR status = $1) ORDER BY created_at DESC LIMIT 500"


class NotificationsRepository:
    """Notifications' tables, read and written on one connection."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def add_delivery(self, *, delivery: Delivery, now: datetime) -> bool:
        """Store a delivery; False when this event already went to this person over this channel."""
        d = delivery
        return await self._conn.fetchval(
            _ADD_DELIVERY, d.id, d.event_id, d.event_type, d.pathway_id, d.recipient_id, d.recipient_role, d.channel,
            d.priority, d.title, d.body, d.link, d.alert_id, d.next_attempt_at, now,
        ) is not None

    async def claim_due(self, *, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries whose time has come, urgent first (locked for this transaction)."""
        return [_delivery(r) for r in await self._conn.fetch(_CLAIM_DUE, now, limit)]

    async def mark_sent(self, *, delivery_id: uuid.UUID, attempts: int, at: datetime) -> None:
        """The channel accepted it."""
        await self._conn.execute(_MARK_SENT, delivery_id, attempts, at)

    async def mark_retry(self, *, delivery_id: uuid.UUID, attempts: int, at: datetime, error: str) -> None:
        """Try again at ``at``."""
        await self._conn.execute(_MARK_RETRY, delivery_id, attempts, at, error)

    async def mark_failed(self, *, delivery_id: uuid.UUID, attempts: int, error: str) -> None:
        """Give up on it."""
        await self._conn.execute(_MARK_FAILED, delivery_id, attempts, error)

    async def add_inbox_item(self, *, delivery: Delivery, now: datetime) -> None:
        """Put a delivery in its recipient's inbox."""
        d = delivery
        await self._conn.execute(_ADD_INBOX, d.id, d.recipient_id, d.priority, d.title, d.body, d.link, d.pathway_id,
                                 d.event_type, d.alert_id, now)

    async def inbox(self, *, recipient_id: str, include_acknowledged: bool) -> list[asyncpg.Record]:
        """A person's inbox, urgent first, newest first."""
        return await self._conn.fetch(_INBOX, recipient_id, include_acknowledged)

    async def inbox_item(self, *, item_id: uuid.UUID) -> asyncpg.Record:
        """One inbox item (locked); NotFound otherwise."""
        row = await self._conn.fetchrow(_INBOX_ITEM, item_id)
        if row is None:
            raise NotFound("no inbox item with that id")
        return row

    async def acknowledge_item(self, *, item_id: uuid.UUID, at: datetime) -> None:
        """Mark an inbox item acknowledged (once)."""
        await self._conn.execute(_ACK_ITEM, item_id, at)

    async def add_alert(self, *, delivery: Delivery, on_call_role: str, escalate_at: datetime | None,
                        now: datetime) -> None:
        """Open an urgent alert with its escalation timer (once per alert id)."""
        d = delivery
        await self._conn.execute(_ADD_ALERT, d.alert_id, d.event_id, d.event_type, d.pathway_id, on_call_role,
                                 d.recipient_id, d.title, d.body, d.link, escalate_at, now)

    async def claim_alerts_to_escalate(self, *, now: datetime, limit: int) -> list[asyncpg.Record]:
        """Open alerts whose escalation time has come (locked)."""
        return await self._conn.fetch(_CLAIM_ALERTS, now, limit)

    async def escalate(self, *, alert_id: uuid.UUID, level: int, recipient: str, escalate_at: datetime | None) -> None:
        """Record that an alert moved on to ``recipient``."""
        await self._conn.execute(_ESCALATE, alert_id, level, recipient, escalate_at)

    async def acknowledge_alert(self, *, alert_id: uuid.UUID, by: str, at: datetime) -> bool:
        """Stop an alert's escalation; False when it was already acknowledged."""
        return await self._conn.fetchval(_ACK_ALERT, alert_id, by, at) is not None

    async def alerts(self, *, status: str | None) -> list[asyncpg.Record]:
        """Alerts, newest first."""
        return await self._conn.fetch(_ALERTS, status)


def _delivery(r: asyncpg.Record) -> Delivery:
    return Delivery(
        id=r["id"], event_id=r["event_id"], event_type=r["event_type"], pathway_id=r["pathway_id"],
        recipient_id=r["recipient_id"], recipient_role=r["recipient_role"], channel=r["channel"],
        priority=r["priority"], title=r["title"], body=r["body"], link=r["link"], alert_id=r["alert_id"],
        next_attempt_at=r["next_attempt_at"], attempts=r["attempts"],
    )
