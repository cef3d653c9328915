"""The clinic's routing file and staff directory: their shape, the safety invariants they must keep, and loading.

Checked at start, alone and against each other; the service refuses to start with an error naming the file, the
field and the rule, so a typo can never route an urgent alert to nobody. The invariants (docs/clinical-rules.md
§Rule files): every safety alert is routed urgently to someone on call, escalates, and reaches a phone; every role,
person and event field a rule names exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from clinicflow.notifications.routing import Directory, Routing, Rule, StaffMember
from clinicflow.notifications.templates import TEMPLATES
from clinicflow.shared.auth import ROLES
from clinicflow.shared.catalogue import CATALOGUE, consumed_by
from clinicflow.shared.rulefiles import RuleFileError, Violation, load_rule_file

# The pathway events staff are told about: what the catalogue names notifications a consumer of.
CONSUMED = frozenset(consumed_by("notifications"))
ESCALATE_AFTER_AT_MOST_MINUTES = 15  # an unanswered safety alert reaches a second person within a quarter hour
PUSH_CHANNELS = {"chat", "sms", "all"}  # what reaches a phone in a pocket, not only a screen


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Recipient(_Strict):
    """Exactly one of: everyone with a role, the care team, the person an event field names, whoever is on call."""

    role: str | None = None
    team: Literal[True] | None = None
    staff_in: str | None = None
    on_call: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Recipient:
        if sum(v is not None for v in (self.role, self.team, self.staff_in, self.on_call)) != 1:
            raise ValueError("a recipient is exactly one of role, team, staff_in or on_call")
        return self


class RuleEntry(_Strict):
    event: str
    recipients: list[Recipient] = Field(min_length=1)
    channels: list[Literal["inbox", "email", "chat", "sms", "all"]] = Field(min_length=1)
    priority: Literal["routine", "high", "urgent"]
    escalate: bool = False
    if_present: str | None = None
    if_any_true: list[str] = Field(default_factory=list)
    send_at: str | None = None


class RoutingFile(_Strict):
    version: str = Field(min_length=1)
    owner: str = ""
    team_roles: list[str] = Field(min_length=1)
    escalate_after_minutes: float = Field(gt=0)
    max_attempts: int = Field(ge=1)
    rules: list[RuleEntry] = Field(min_length=1)


class StaffEntry(_Strict):
    id: str = Field(min_length=1)
    roles: list[str] = Field(min_length=1)
    email: str | None = None
    phone: str | None = None


class DirectoryFile(_Strict):
    note: str = ""
    staff: list[StaffEntry] = Field(min_length=1)
    on_call: dict[str, list[str]] = Field(default_factory=dict)
    clinical_lead: str


def load_routing(path: str | Path | None = None) -> Routing:
    """Read and check the routing file (the packaged defaults when ``path`` is None)."""
    raw = load_rule_file(path, _packaged("routing.json"), RoutingFile, routing_violations)
    rules = tuple(
        Rule(event=r.event, recipients=tuple(x.model_dump(exclude_none=True) for x in r.recipients),
             channels=tuple(r.channels), priority=r.priority, escalate=r.escalate, if_present=r.if_present,
             if_any_true=tuple(r.if_any_true), send_at=r.send_at)
        for r in raw.rules
    )
    return Routing(raw.version, tuple(raw.team_roles), raw.escalate_after_minutes, raw.max_attempts, rules)


def load_directory(path: str | Path | None = None) -> Directory:
    """Read and check the staff directory (the packaged synthetic staff when ``path`` is None)."""
    raw = load_rule_file(path, _packaged("directory.json"), DirectoryFile, directory_violations)
    staff = {s.id: StaffMember(s.id, tuple(s.roles), s.email, s.phone) for s in raw.staff}
    return Directory(staff, {role: tuple(ids) for role, ids in raw.on_call.items()}, raw.clinical_lead)


def check_together(routing: Routing, directory: Directory, *, routing_file: str | None) -> None:
    """What the routing file asks of the directory: someone holds every role it names, and someone is on call for
    every role its safety alerts go to. RuleFileError naming the routing file otherwise."""
    violations = list(_cross_violations(routing, directory))
    if violations:
        named = routing_file or "routing.json (packaged defaults)"
        raise RuleFileError(f"{named} with its staff directory", violations)


def routing_violations(routing: RoutingFile) -> Iterator[Violation]:
    """Every invariant the routing file breaks on its own."""
    if routing.escalate_after_minutes > ESCALATE_AFTER_AT_MOST_MINUTES:
        yield "escalate_after_minutes", f"must be at most {ESCALATE_AFTER_AT_MOST_MINUTES}"
    for role in sorted(set(routing.team_roles) - ROLES):
        yield "team_roles", f"{role!r} is not a role"
    for index, rule in enumerate(routing.rules):
        yield from _rule_violations(f"rules.{index}", rule)
    routed = {r.event for r in routing.rules}
    for event in sorted(_safety_alert_events()):
        safe = [r for r in routing.rules if r.event == event and r.priority == "urgent" and r.escalate
                and any(x.on_call for x in r.recipients) and PUSH_CHANNELS & set(r.channels)]
        if not safe:
            yield "rules", (f"{event} must have a rule that is urgent, escalates, goes to someone on call and uses a "
                            f"push channel (chat, sms or all)" + ("" if event in routed else "; it has no rule at all"))


def _rule_violations(where: str, rule: RuleEntry) -> Iterator[Violation]:
    spec = CATALOGUE.get(rule.event)
    if spec is None or rule.event not in CONSUMED:
        yield f"{where}.event", f"{rule.event!r} is not a pathway event notifications consumes"
        return
    if rule.event not in TEMPLATES:
        yield f"{where}.event", f"{rule.event} has no message written for it (templates.py): nothing could be sent"
    fields = set(spec.payload.model_fields)
    named = [("if_present", rule.if_present), ("send_at", rule.send_at)]
    named += [("if_any_true", f) for f in rule.if_any_true]
    named += [(f"recipients.{i}.staff_in", r.staff_in) for i, r in enumerate(rule.recipients)]
    for key, field in named:
        if field is not None and field not in fields:
            yield f"{where}.{key}", f"{rule.event} has no field {field!r}"
    for i, recipient in enumerate(rule.recipients):
        for role in (recipient.role, recipient.on_call):
            if role is not None and role not in ROLES:
                yield f"{where}.recipients.{i}", f"{role!r} is not a role"
    if rule.escalate and (rule.priority != "urgent" or "alert_id" not in fields):
        yield f"{where}.escalate", "only urgent safety alerts (events with an alert_id) escalate"


def directory_violations(directory: DirectoryFile) -> Iterator[Violation]:
    """Every invariant the staff directory breaks on its own."""
    staff = {s.id: s for s in directory.staff}
    if len(staff) != len(directory.staff):
        yield "staff", "staff ids must be unique"
    for member in directory.staff:
        for role in sorted(set(member.roles) - ROLES):
            yield f"staff.{member.id}.roles", f"{role!r} is not a role"
    lead = staff.get(directory.clinical_lead)
    if lead is None or "clinical_lead" not in lead.roles:
        yield "clinical_lead", "must be a member of staff who holds the clinical_lead role"
    elif not (lead.email or lead.phone):
        yield "clinical_lead", "needs an email address or a phone: every escalation ends there"
    for role, ids in directory.on_call.items():
        if role not in ROLES:
            yield f"on_call.{role}", "is not a role"
        for staff_id in ids:
            if staff_id not in staff or role not in staff[staff_id].roles:
                yield f"on_call.{role}", f"{staff_id!r} is not a member of staff holding the role {role!r}"


def _cross_violations(routing: Routing, directory: Directory) -> Iterator[Violation]:
    roles = {s["role"] for r in routing.rules for s in r.recipients if "role" in s} | set(routing.team_roles)
    for role in sorted(roles):
        if not directory.with_role(role):
            yield "rules", f"nobody in the directory holds the role {role!r} that routing sends to"
    for role in sorted({s["on_call"] for r in routing.rules for s in r.recipients if "on_call" in s}):
        if not directory.on_call.get(role):
            yield "rules", f"the directory puts nobody on call for {role!r}, where safety alerts go"


def _safety_alert_events() -> set[str]:
    """Pathway events that are safety alerts: their payload carries the alert id acknowledgements name."""
    return {t for t in CONSUMED if "alert_id" in CATALOGUE[t].payload.model_fields}


def _packaged(name: str):  # noqa: ANN202 - a Traversable
    return resources.files(__package__) / "config" / name

