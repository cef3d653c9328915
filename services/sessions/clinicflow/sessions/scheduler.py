"""The durable integration scheduler: a loop in every instance over the integrations table in sessions' schema.

Each tick claims rows with ``FOR UPDATE SKIP LOCKED`` and marks them published in the same transaction as the
outbox rows it writes, so each `integration.due` and `integration.overdue` fires exactly once however many
instances run; rows are selected by time, so after downtime the first tick catches up.
"""

from __future__ import annotations

from clinicflow.sessions.integrations import publish_due_integrations
from clinicflow.sessions.repository import SessionsRepository
from clinicflow.sessions.rules import SessionRules
from clinicflow.sessions.unit_of_work import SOURCE, UnitOfWork
from clinicflow.shared.care_team import CareTeamRepository
from clinicflow.shared.runtime import every_pass


def integration_scheduler(rules: SessionRules, *, poll_seconds: float):  # noqa: ANN201 - a background starter
    """A background task for the runtime: publish what has fallen due, at once while there is more, never dying."""
    return every_pass("integration-scheduler", lambda conn, events: publish_due_integrations(
        UnitOfWork(SessionsRepository(conn), CareTeamRepository(conn), events, rules)), source=SOURCE,
        idle_seconds=poll_seconds)
