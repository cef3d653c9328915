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
        return now + delay * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Escalation:
    """Where an unacknowledged urgent alert goes next."""

    level: int
    recipient: str | None  # None: the chain is exhausted (the clinical lead already has it)
    escalate_at: datetime | None


def next_escalation(chain: tuple[str, ...], level: int, *, now: datetime, after: timedelta) -> Escalation:
    """The next person in the on-call chain (the clinical lead last), and when to look again."""
    following = level + 1
    if following >= len(chain):
        return Escalation(level, None, None)
    more_to_come = following + 1 < len(chain)
    return Escalation(following, chain[following], now + after if more_to_come else None)


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
