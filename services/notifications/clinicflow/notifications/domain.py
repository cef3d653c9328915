"""Delivery retries and alert escalation. Pure: no I/O; the clock is passed in."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, then give up."""

    max_attempts: int
    first: timedelta
    cap: timedelta

    def after_failure(self, attempts: int, now: datetime) -> datetime | None:
        """When to try again after ``attempts`` failed tries; None when it is time to give up."""
        if attempts >= self.max_attempts:
            return None
        delay = min(self.cap, self.first * 2 ** (attempts - 1))
        jittered: timedelta = delay * random.uniform(0.5, 1.0)
        return now + jittered


@dataclass(frozen=True)
class Escalation:
    """Where an unacknowledged urgent alert goes next, and when to look again."""

    level: int
    recipient: str
    escalate_at: datetime


def escalation_chain(on_call: tuple[str, ...], clinical_lead: str) -> tuple[str, ...]:
    """Who an urgent alert goes to, in order: the people on call for its role, then the clinical lead."""
    return on_call + ((clinical_lead,) if clinical_lead not in on_call else ())


def next_escalation(chain: tuple[str, ...], level: int, *, now: datetime, after: timedelta) -> Escalation:
    """The next person along the chain; after the clinical lead it starts again from the top, for as long as nobody
    acknowledges (an urgent safety alert must never go quiet while unanswered)."""
    following = level + 1
    return Escalation(following, chain[following % len(chain)], now + after)


@dataclass(frozen=True)
class InboxEntry:
    """One item in a person's inbox in the portal."""

    id: uuid.UUID
    recipient_id: str
    priority: str
    title: str
    body: str
    link: str
    pathway_id: uuid.UUID
    event_type: str
    alert_id: uuid.UUID | None
    created_at: datetime
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class Alert:
    """An urgent alert: who has it now, how far it has escalated, and when it escalates next."""

    alert_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    pathway_id: uuid.UUID
    on_call_role: str
    level: int
    current_recipient: str
    title: str
    body: str
    link: str
    status: str
    escalate_at: datetime | None
    acknowledged_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class Shift:
    """One person on call for one role, from ``starts_at`` until ``ends_at`` (open-ended when None).

    ``position`` is the fallback order among the shifts that overlap: 1 is called first.
    """

    id: uuid.UUID
    role: str
    staff_id: str
    position: int
    starts_at: datetime
    ends_at: datetime | None
    created_by: str

    def covers(self, at: datetime) -> bool:
        """Whether this shift is on at ``at``."""
        return self.starts_at <= at and (self.ends_at is None or at < self.ends_at)


@dataclass(frozen=True)
class Delivery:
    """One notification to one person over one channel."""

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    pathway_id: uuid.UUID
    recipient_id: str
    recipient_role: str
    channel: str
    priority: str
    title: str
    body: str
    link: str
    alert_id: uuid.UUID | None
    next_attempt_at: datetime
    attempts: int = 0
    escalation_level: int = 0
