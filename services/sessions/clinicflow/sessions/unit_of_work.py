"""What every sessions use case works on: one transaction's repositories, its event writer, the rules in force."""

from __future__ import annotations

from dataclasses import dataclass

from clinicflow.sessions.repository import SessionsRepository
from clinicflow.sessions.rules import SessionRules
from clinicflow.shared.care_team import CareTeamRepository
from clinicflow.shared.outbox import EventWriter

SOURCE = "clinicflow/sessions"


@dataclass(frozen=True)
class UnitOfWork:
    """One transaction's view of sessions."""

    sessions: SessionsRepository
    care_team: CareTeamRepository
    events: EventWriter
    rules: SessionRules
