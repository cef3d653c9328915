"""Who hears about which event, over which channels, how urgently: declarative, versioned configuration.

The routing file (``config/routing.json`` by default; ``NOTIFICATIONS_ROUTING_FILE``) and the staff directory with
the on-call order that seeds the rota (``config/directory.json``; ``NOTIFICATIONS_DIRECTORY_FILE``) are the clinic's
to edit; ``configfiles`` reads and checks them. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

CHANNELS = ("inbox", "email", "chat", "sms")


@dataclass(frozen=True)
class StaffMember:
    """A person who can be notified."""

    id: str
    roles: tuple[str, ...]
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class Directory:
    """Staff, the on-call order per role that seeds the rota, and the clinical lead at the end of every escalation."""

    staff: dict[str, StaffMember]
    on_call: dict[str, tuple[str, ...]]
    clinical_lead: str

    def with_role(self, role: str) -> list[StaffMember]:
        """Everyone holding ``role``."""
        return [m for m in self.staff.values() if role in m.roles]


@dataclass(frozen=True)
class Rule:
    """One routing rule."""

    event: str
    recipients: tuple[dict[str, Any], ...]
    channels: tuple[str, ...]
    priority: str
    escalate: bool = False
    if_present: str | None = None
    if_any_true: tuple[str, ...] = ()
    send_at: str | None = None


@dataclass(frozen=True)
class Routing:
    """The routing configuration in force."""

    version: str
    team_roles: tuple[str, ...]
    escalate_after_minutes: float
    max_attempts: int
    rules: tuple[Rule, ...]

    def on_call_roles(self, event_type: str) -> set[str]:
        """The roles whose on-call person an event goes to."""
        return {spec["on_call"] for r in self.rules if r.event == event_type for spec in r.recipients
                if "on_call" in spec}


@dataclass(frozen=True)
class Planned:
    """One notification to deliver: to whom, how, how urgently, from when."""

    recipient_id: str
    recipient_role: str
    channel: str
    priority: str
    send_at: datetime | None
    escalates: bool


def plan(
    event_type: str, data: dict[str, Any], *, routing: Routing, directory: Directory, enabled: frozenset[str],
    on_call: Mapping[str, tuple[str, ...]],
) -> list[Planned]:
    """The notifications an event calls for (none when no rule matches or a rule's condition is not met).

    ``on_call`` is each role's escalation chain at the event's time (the rota, then the clinical lead).
    """
    planned: dict[tuple[str, str], Planned] = {}
    for rule in (r for r in routing.rules if r.event == event_type):
        if rule.if_present and data.get(rule.if_present) is None:
            continue
        if rule.if_any_true and not any(data.get(k) for k in rule.if_any_true):
            continue
        send_at = datetime.fromisoformat(data[rule.send_at]) if rule.send_at else None
        channels = [c for c in (CHANNELS if "all" in rule.channels else rule.channels) if c in enabled]
        for member, role in _recipients(rule, data, routing, directory, on_call):
            for channel in channels:
                if reachable(member, channel):
                    planned.setdefault((member.id, channel), Planned(
                        member.id, role, channel, rule.priority, send_at, rule.escalate))
    return list(planned.values())


def _recipients(rule: Rule, data: dict[str, Any], routing: Routing, directory: Directory,  # noqa: ANN202
                on_call: Mapping[str, tuple[str, ...]]):
    for spec in rule.recipients:
        if "role" in spec:
            yield from ((m, spec["role"]) for m in directory.with_role(spec["role"]))
        elif spec.get("team"):
            yield from ((m, role) for role in routing.team_roles for m in directory.with_role(role))
        elif "staff_in" in spec:
            member = directory.staff.get(str(data.get(spec["staff_in"])))
            if member is not None:
                yield member, member.roles[0]
        elif "on_call" in spec:
            chain = on_call.get(spec["on_call"], ())
            if chain and chain[0] in directory.staff:
                yield directory.staff[chain[0]], spec["on_call"]


def reachable(member: StaffMember, channel: str) -> bool:
    """Whether the directory holds an address for ``member`` on ``channel``."""
    return {"email": member.email, "sms": member.phone}.get(channel, True) is not None
